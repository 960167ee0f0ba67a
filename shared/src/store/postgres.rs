//! The PostgreSQL store: several processes of one node kind share one database.
//!
//! * Objects are rows of `<TABLES>_objects (kind, key, body jsonb)`; the
//!   revision is the single row of `<TABLES>_revision` ([`RowLayout::TABLES`]:
//!   `organization` for the resource forest, `directory` for the account
//!   forest, so both can share one schema).
//! * A commit locks the revision row (`SELECT … FOR UPDATE`), fails with a
//!   conflict unless it is the revision the change was computed on, writes the
//!   changed rows, bumps the revision and sends `NOTIFY <CHANNEL>`
//!   in the same transaction: commits are serialised, and a change whose
//!   checks (the lockout rules) ran on an older state is never stored.
//! * Loads read in one `REPEATABLE READ` transaction: one revision, whole.
//! * Schema migrations run at connect under an advisory lock, recorded in
//!   [`RowLayout::VERSION_TABLE`]; a newer schema is refused.

use std::marker::PhantomData;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::{watch, Mutex};
use tokio_postgres::{AsyncMessage, Client, IsolationLevel, NoTls};

use super::config::redact_url;
use super::{Delta, RowChanges, RowLayout, RowStore, StoreError};

/// The row tables' migrations, in order, with `{t}` standing for
/// [`RowLayout::TABLES`]: step `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: objects and the revision.
    "CREATE TABLE {t}_revision (
         id boolean PRIMARY KEY DEFAULT true CHECK (id),
         revision bigint NOT NULL);
     INSERT INTO {t}_revision (revision) VALUES (0);
     CREATE TABLE {t}_objects (
         kind text NOT NULL,
         key text NOT NULL,
         body jsonb NOT NULL,
         revision bigint NOT NULL,
         PRIMARY KEY (kind, key));",
    // 2: which rows changed after a revision, deletions included, so that
    // other nodes catch up on a change without reading everything.
    "CREATE INDEX {t}_objects_revision ON {t}_objects (revision);
     CREATE TABLE {t}_deletions (
         kind text NOT NULL,
         key text NOT NULL,
         revision bigint NOT NULL,
         PRIMARY KEY (kind, key));
     CREATE INDEX {t}_deletions_revision ON {t}_deletions (revision);",
];

/// Every migration of `L`'s schema, in order: the row tables', then its own.
fn migrations<L: RowLayout>() -> Vec<String> {
    MIGRATIONS
        .iter()
        .map(|step| step.replace("{t}", L::TABLES))
        .chain(L::POSTGRES_MIGRATIONS.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// The newest schema version this binary knows for `L`.
pub fn known_schema<L: RowLayout>() -> u32 {
    u32::try_from(MIGRATIONS.len() + L::POSTGRES_MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// An arbitrary constant naming the migration lock.
const MIGRATION_LOCK: i64 = 0x6372_6f73_7366_6f72;

fn backend(e: tokio_postgres::Error) -> StoreError {
    // The driver's messages never include the password.
    StoreError::Backend(format!("postgres store: {e}"))
}

/// A failed COMMIT: refused by the server (nothing stored), or lost with
/// the connection, when the database may have committed without saying so.
fn unconfirmed(e: tokio_postgres::Error, revision: u64) -> StoreError {
    if e.as_db_error().is_some() {
        return backend(e);
    }
    StoreError::Unconfirmed {
        revision,
        cause: format!("postgres store: {e}"),
    }
}

/// The PostgreSQL store of one node kind.
#[derive(Debug)]
pub struct PostgresStore<L> {
    client: Mutex<Client>,
    url: String,
    schema: String,
    /// The announcements of the listening connection (its own task keeps it,
    /// and connects again when it fails).
    announced: Mutex<Option<watch::Receiver<u64>>>,
    layout: PhantomData<fn() -> L>,
}

async fn connect_client(url: &str, schema: &str, node: &str) -> Result<Client, StoreError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        StoreError::Backend(format!("invalid PostgreSQL URL `{}`: {e}", redact_url(url)))
    })?;
    config.options(format!("-c search_path={schema}"));
    config.application_name(node);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot connect to {}: {e}", redact_url(url))))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::error!(error = %e, "the PostgreSQL connection failed");
        }
    });
    Ok(client)
}

fn quote_identifier(name: &str) -> Result<String, StoreError> {
    if !super::config::valid_schema(name) {
        return Err(StoreError::Backend(format!(
            "invalid schema name `{name}`: use lower-case letters, digits and `_`"
        )));
    }
    Ok(format!("\"{name}\""))
}

impl<L: RowLayout> PostgresStore<L> {
    /// Connects, creates the schema if missing and migrates it; refuses a
    /// schema newer than [`known_schema`].
    pub async fn connect(url: &str, schema: &str) -> Result<Self, StoreError> {
        let quoted = quote_identifier(schema)?;
        let version_table = L::VERSION_TABLE;
        let known = known_schema::<L>();
        let mut client = connect_client(url, schema, L::NODE).await?;
        let txn = client.transaction().await.map_err(backend)?;
        txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(backend)?;
        txn.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted};
             CREATE TABLE IF NOT EXISTS {version_table} (version integer NOT NULL);"
        ))
        .await
        .map_err(backend)?;
        let found: i32 = txn
            .query_opt(&format!("SELECT max(version) FROM {version_table}"), &[])
            .await
            .map_err(backend)?
            .and_then(|row| row.get::<_, Option<i32>>(0))
            .unwrap_or(0);
        let found = u32::try_from(found).unwrap_or(0);
        if found > known {
            return Err(StoreError::NewerSchema {
                store: "PostgreSQL database",
                node: L::NODE,
                found,
                known,
            });
        }
        for (i, step) in migrations::<L>().iter().enumerate().skip(found as usize) {
            txn.batch_execute(step).await.map_err(backend)?;
            let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
            txn.execute(
                &format!("INSERT INTO {version_table} VALUES ($1)"),
                &[&version],
            )
            .await
            .map_err(backend)?;
        }
        txn.commit().await.map_err(backend)?;
        Ok(Self {
            client: Mutex::new(client),
            url: url.to_owned(),
            schema: schema.to_owned(),
            announced: Mutex::new(None),
            layout: PhantomData,
        })
    }

    /// The connection, reconnected first if the server closed it (a restart
    /// of the database costs the requests in flight, not the node).
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Client>, StoreError> {
        let mut client = self.client.lock().await;
        if client.is_closed() {
            tracing::warn!("the PostgreSQL connection was closed; reconnecting");
            *client = connect_client(&self.url, &self.schema, L::NODE).await?;
        }
        Ok(client)
    }

    /// Overwrites the schema version (for tests of the refusal).
    pub async fn set_schema_version(&self, version: i32) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                &format!("INSERT INTO {} VALUES ($1)", L::VERSION_TABLE),
                &[&version],
            )
            .await
            .map_err(backend)
            .map(drop)
    }

    /// In one transaction: checks that the revision is `expected`, writes
    /// `batch[i]` as revision `expected + 1 + i` (each row tagged with the
    /// revision that last wrote or deleted it, so that `changes_since` stays
    /// exact per revision), sets the revision to the last and announces it.
    async fn write(&self, expected: u64, batch: Vec<RowChanges>) -> Result<u64, StoreError> {
        let next = expected + batch.len() as u64;
        let next_i =
            i64::try_from(next).map_err(|_| StoreError::Backend("revision out of range".into()))?;
        let t = L::TABLES;
        let mut client = self.client().await?;
        let txn = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(backend)?;
        let actual: i64 = txn
            .query_one(
                &format!("SELECT revision FROM {t}_revision FOR UPDATE"),
                &[],
            )
            .await
            .map_err(backend)?
            .get(0);
        let actual = u64::try_from(actual).unwrap_or(0);
        if actual != expected {
            return Err(if expected == 0 {
                StoreError::Exists(actual)
            } else {
                StoreError::Conflict { expected, actual }
            });
        }
        for (i, changes) in batch.iter().enumerate() {
            let revision = i64::try_from(expected + 1 + i as u64)
                .map_err(|_| StoreError::Backend("revision out of range".into()))?;
            write_rows(&txn, t, changes, revision).await?;
        }
        txn.execute(
            &format!("UPDATE {t}_revision SET revision = $1"),
            &[&next_i],
        )
        .await
        .map_err(backend)?;
        txn.execute(
            "SELECT pg_notify($1, $2)",
            &[&L::CHANNEL, &format!("{} {next}", self.schema)],
        )
        .await
        .map_err(backend)?;
        txn.commit().await.map_err(|e| unconfirmed(e, next))?;
        Ok(next)
    }

    /// Reads in one snapshot the latest revision and every row, or with
    /// `since` only the rows written and deleted after that revision.
    async fn read(&self, since: Option<u64>) -> Result<Delta, StoreError> {
        let since = i64::try_from(since.unwrap_or(0))
            .map_err(|_| StoreError::Backend("revision out of range".into()))?;
        let t = L::TABLES;
        let mut client = self.client().await?;
        let txn = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(backend)?;
        let latest: i64 = txn
            .query_one(&format!("SELECT revision FROM {t}_revision"), &[])
            .await
            .map_err(backend)?
            .get(0);
        let upserts = txn
            .query(
                &format!("SELECT kind, key, body::text FROM {t}_objects WHERE revision > $1"),
                &[&since],
            )
            .await
            .map_err(backend)?;
        // A row deleted and written again since is in the objects: not deleted.
        let deletes = if since == 0 {
            Vec::new()
        } else {
            txn.query(
                &format!(
                    "SELECT d.kind, d.key FROM {t}_deletions d
                     WHERE d.revision > $1 AND NOT EXISTS (
                         SELECT 1 FROM {t}_objects o WHERE o.kind = d.kind AND o.key = d.key)"
                ),
                &[&since],
            )
            .await
            .map_err(backend)?
        };
        txn.commit().await.map_err(backend)?;
        Ok(Delta {
            revision: u64::try_from(latest).unwrap_or(0),
            upserts: upserts
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect(),
            deletes: deletes.into_iter().map(|r| (r.get(0), r.get(1))).collect(),
        })
    }

    /// Starts listening on [`RowLayout::CHANNEL`] on a connection of its
    /// own; revisions announced for this schema are published on the
    /// returned receiver. When that connection fails (the database restarts
    /// or fails over) a task connects again every [`BACKSTOP`] until it
    /// listens, then publishes the revision the database has, so followers
    /// catch up at once; it ends when no receiver is left.
    async fn listen(&self) -> Result<watch::Receiver<u64>, StoreError> {
        let (tx, rx) = watch::channel(0u64);
        let first = listener::<L>(&self.url, &self.schema, tx.clone()).await?;
        let (url, schema) = (self.url.clone(), self.schema.clone());
        tokio::spawn(async move {
            let mut current = Some(first);
            loop {
                if let Some((client, mut driver)) = current.take() {
                    tokio::select! {
                        _ = &mut driver => {}
                        () = tx.closed() => return,
                    }
                    drop(client);
                    tracing::error!("the PostgreSQL listener failed; changes are picked up by the periodic check until it listens again");
                }
                tokio::select! {
                    () = tokio::time::sleep(BACKSTOP) => {}
                    () = tx.closed() => return,
                }
                match listener::<L>(&url, &schema, tx.clone()).await {
                    Ok((client, driver)) => {
                        let t = L::TABLES;
                        if let Ok(row) = client
                            .query_one(&format!("SELECT revision FROM {t}_revision"), &[])
                            .await
                        {
                            let revision = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
                            tx.send_if_modified(|r| announce(r, revision));
                        }
                        tracing::info!("the PostgreSQL listener listens again");
                        current = Some((client, driver));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the PostgreSQL listener cannot connect yet")
                    }
                }
            }
        });
        Ok(rx)
    }
}

/// Raises the announced revision `r` to `revision`; whether it rose.
fn announce(r: &mut u64, revision: u64) -> bool {
    let newer = revision > *r;
    if newer {
        *r = revision;
    }
    newer
}

/// One listening connection: its client and the task that reads its
/// notifications into `tx` until the connection fails.
async fn listener<L: RowLayout>(
    url: &str,
    schema: &str,
    tx: watch::Sender<u64>,
) -> Result<(Client, tokio::task::JoinHandle<()>), StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    config.options(format!("-c search_path={schema}"));
    config.application_name(format!("{} listener {schema}", L::NODE));
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot connect to {}: {e}", redact_url(url))))?;
    let ours = schema.to_owned();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let mut words = n.payload().split(' ');
                    if words.next() == Some(ours.as_str()) {
                        if let Some(Ok(revision)) = words.next().map(str::parse::<u64>) {
                            tx.send_if_modified(|r| announce(r, revision));
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the PostgreSQL listener's connection failed");
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", L::CHANNEL))
        .await
        .map_err(backend)?;
    Ok((client, driver))
}

#[async_trait]
impl<L: RowLayout> RowStore for PostgresStore<L> {
    type Layout = L;

    async fn rows(&self) -> Result<Delta, StoreError> {
        self.read(None).await
    }

    async fn apply(&self, expected: u64, changes: RowChanges) -> Result<u64, StoreError> {
        self.write(expected, vec![changes]).await
    }

    async fn apply_batch(&self, expected: u64, batch: Vec<RowChanges>) -> Result<u64, StoreError> {
        self.write(expected, batch).await
    }

    async fn changes_since(&self, revision: u64) -> Result<Option<Delta>, StoreError> {
        self.read(Some(revision)).await.map(Some)
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        let revision: i64 = self
            .client()
            .await?
            .query_one(&format!("SELECT revision FROM {}_revision", L::TABLES), &[])
            .await
            .map_err(backend)?
            .get(0);
        Ok(u64::try_from(revision).unwrap_or(0))
    }

    async fn watch(&self) -> Result<watch::Receiver<u64>, StoreError> {
        let mut announced = self.announced.lock().await;
        if let Some(rx) = announced.as_ref() {
            return Ok(rx.clone());
        }
        let rx = self.listen().await?;
        *announced = Some(rx.clone());
        Ok(rx)
    }
}

/// Writes one revision's `changes` in `txn`, tagged `revision`.
async fn write_rows(
    txn: &tokio_postgres::Transaction<'_>,
    t: &str,
    changes: &RowChanges,
    revision: i64,
) -> Result<(), StoreError> {
    if !changes.deletes.is_empty() {
        let kinds: Vec<&str> = changes.deletes.iter().map(|(k, _)| *k).collect();
        let keys: Vec<&str> = changes.deletes.iter().map(|(_, k)| k.as_str()).collect();
        txn.execute(
            &format!(
                "DELETE FROM {t}_objects o
                     USING unnest($1::text[], $2::text[]) AS d(kind, key)
                     WHERE o.kind = d.kind AND o.key = d.key"
            ),
            &[&kinds, &keys],
        )
        .await
        .map_err(backend)?;
        txn.execute(
            &format!(
                "INSERT INTO {t}_deletions (kind, key, revision)
                     SELECT kind, key, $3 FROM unnest($1::text[], $2::text[]) AS d(kind, key)
                     ON CONFLICT (kind, key) DO UPDATE SET revision = excluded.revision"
            ),
            &[&kinds, &keys, &revision],
        )
        .await
        .map_err(backend)?;
    }
    if !changes.upserts.is_empty() {
        let kinds: Vec<&str> = changes.upserts.iter().map(|r| r.kind).collect();
        let keys: Vec<&str> = changes.upserts.iter().map(|r| r.key.as_str()).collect();
        let bodies: Vec<&str> = changes.upserts.iter().map(|r| r.body.as_str()).collect();
        txn.execute(
            &format!(
                "INSERT INTO {t}_objects (kind, key, body, revision)
                     SELECT kind, key, body::jsonb, $4
                     FROM unnest($1::text[], $2::text[], $3::text[]) AS u(kind, key, body)
                     ON CONFLICT (kind, key)
                     DO UPDATE SET body = excluded.body, revision = excluded.revision"
            ),
            &[&kinds, &keys, &bodies, &revision],
        )
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// How often a node checks the revision even without a notification: a
/// backstop for a lost listener connection.
pub const BACKSTOP: Duration = Duration::from_secs(5);
