//! The gRPC services of an account forest: `Directory` (users, and the resource
//! forest's linked credential) and `DirectoryAdmin` (the directory's own tools).

use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use crossforest_shared::limits::{ECHO_NAME, MAX_IDENTITY};
use crossforest_shared::proto::directory::v1 as pb;
use crossforest_shared::serve::caller;
use crossforest_shared::serve::status::{DenialRule, EdgeError};
use crossforest_shared::text::{bounded, escape};
use crossforest_shared::{ForestName, Principal, Sid};
use tonic::{Request, Response, Status};

use crate::directory::{DirectoryError, PrincipalInfo, SignInError};
use crate::lockout::{Counted, LockoutError};
use crate::node::{AccountForest, NodeError};

/// Both services, over one shared node.
#[derive(Debug, Clone)]
pub struct DirectoryService {
    node: Arc<AccountForest>,
}

impl DirectoryService {
    /// Services over `node`.
    pub fn new(node: Arc<AccountForest>) -> Self {
        Self { node }
    }

    fn to_proto(&self, p: &PrincipalInfo) -> pb::Principal {
        pb::Principal {
            sid: p.sid.to_string(),
            name: p.name.clone(),
            kind: if p.is_group {
                pb::PrincipalKind::UniversalSecurityGroup
            } else {
                pb::PrincipalKind::User
            } as i32,
            forest: self.node.config().forest.to_string(),
        }
    }

    /// The caller, who must be an enabled user of this forest. The TLS layer has
    /// already refused certificates of any other forest (R-TRUST-1).
    fn member_caller<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let principal = caller(request)?;
        if principal.forest != self.node.config().forest
            || !self.node.is_enabled_user(&principal.sid)
        {
            // An identity this forest does not know (or no longer
            // honours): not authenticated, whatever the certificate says.
            return Err(EdgeError::Unauthenticated(format!(
                "`{}` is not an enabled account of {}",
                principal.sid,
                self.node.config().forest
            ))
            .into());
        }
        Ok(principal)
    }

    /// The caller, who must hold Replicating Directory Changes: the change
    /// feed is for the linked credentials this forest issued, not for anyone.
    fn replicator_caller<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let principal = self.member_caller(request)?;
        if !self.node.read(|d| d.may_replicate(&principal.sid)) {
            return Err(denied(format!(
                "`{}` has not been granted Replicating Directory Changes on {}; only the linked credentials it issued may read the change feed",
                principal.sid,
                self.node.config().forest
            )));
        }
        Ok(principal)
    }

    fn admin_caller<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let principal = self.member_caller(request)?;
        if !self.node.read(|d| d.is_domain_admin(&principal.sid)) {
            return Err(denied(format!(
                "`{}` is not a member of Domain Admins of {}",
                principal.sid,
                self.node.config().forest
            )));
        }
        Ok(principal)
    }
}

/// The one answer to every refused sign-in: the caller never learns which
/// check failed (AD's "The user name or password is incorrect").
pub const SIGN_IN_REFUSED: &str = "the user name or password is incorrect";

/// Why a sign-in was refused, for the node's log only.
#[derive(Debug, thiserror::Error)]
enum SignInRefusal {
    #[error("the client certificate could not be read: {0}")]
    Certificate(String),
    #[error("the client certificate is of forest `{0}`")]
    OtherForest(String),
    #[error(transparent)]
    Binding(#[from] SignInError),
    #[error(transparent)]
    Lockout(#[from] LockoutError),
    #[error("the account is disabled")]
    Disabled,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("the account was disabled or removed while its password was checked")]
    ChangedMeanwhile,
    #[error("the password check failed")]
    CheckFailed,
}

impl DirectoryService {
    /// Authenticate. The certificate is bound to the account named first
    /// (another account's name, known or not, is refused before any password
    /// is checked); then the account's lockout is consulted, a permit of the
    /// password-check budget taken, and the password checked on a blocking
    /// thread (a disabled account against the dummy hash). Every refusal is
    /// [`SIGN_IN_REFUSED`]; the log says why.
    async fn sign_in(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        check_len("user", &request.get_ref().user)?;
        check_len("password", &request.get_ref().password)?;
        check_len("audience", &request.get_ref().audience)?;
        let principal = caller(&request);
        let req = request.into_inner();
        let refused = |reason: SignInRefusal| -> Status {
            let certificate = principal.as_ref().map(|p| p.sid.to_string()).ok();
            tracing::info!(certificate, user = ?req.user, %reason, "sign-in refused");
            EdgeError::Unauthenticated(SIGN_IN_REFUSED.into()).into()
        };
        let principal = match &principal {
            Ok(p) => p,
            Err(status) => {
                return Err(refused(SignInRefusal::Certificate(status.message().into())))
            }
        };
        let audience: ForestName =
            req.audience
                .parse()
                .map_err(|e: crossforest_shared::identity::IdentityError| {
                    Status::from(EdgeError::invalid("audience", format!("audience: {e}")))
                })?;
        if principal.forest != self.node.config().forest {
            return Err(refused(SignInRefusal::OtherForest(
                principal.forest.to_string(),
            )));
        }
        let account = self
            .node
            .read(|d| d.sign_in_account(&principal.sid, &req.user))
            .map_err(|e| refused(e.into()))?;
        let user = account.user;
        let attempt = self
            .node
            .lockouts()
            .admit(user.sid, Instant::now())
            .map_err(|e| refused(e.into()))?;
        let permit = match self.node.hashing().acquire().await {
            Ok(permit) => permit,
            Err(busy) => {
                tracing::warn!(user = %user.sid, "sign-in refused: {busy}");
                return Err(EdgeError::Exhausted(format!(
                    "the directory is checking as many passwords as its memory allows; retry in {} ms",
                    busy.retry_after.as_millis()
                ))
                .into_status_retry_after(busy.retry_after));
            }
        };
        // Hash checks are slow by design: off the async workers, outside the
        // directory lock. The outcome is counted there too, so a caller that
        // hangs up mid-check is counted all the same.
        let (hashing, hash, password) = (
            self.node.hashing().clone(),
            account.password_hash,
            req.password.clone(),
        );
        let checked = tokio::task::spawn_blocking(move || {
            let disabled = hash.is_none();
            let matched = hashing.verify(permit, hash.as_deref(), &password);
            let now = Instant::now();
            if matched {
                attempt.succeeded(now);
                Ok(())
            } else {
                Err((disabled, attempt.failed(now)))
            }
        })
        .await;
        match checked {
            Ok(Ok(())) => {}
            Ok(Err((disabled, counted))) => {
                if counted == Counted::LockedOut {
                    let policy = self.node.lockouts().policy();
                    tracing::warn!(
                        user = %user.sid,
                        name = ?user.name,
                        threshold = policy.threshold,
                        duration_mins = policy.duration.as_secs() / 60,
                        "account locked out"
                    );
                }
                return Err(refused(if disabled {
                    SignInRefusal::Disabled
                } else {
                    SignInRefusal::WrongPassword
                }));
            }
            Err(e) => {
                tracing::error!(error = %e, "a password check failed");
                return Err(refused(SignInRefusal::CheckFailed));
            }
        }
        let (enabled, groups, sequence) = self.node.read(|d| {
            (
                d.is_enabled_user(&user.sid),
                d.transitive_groups(&user.sid),
                d.changes().sequence(),
            )
        });
        if !enabled {
            return Err(refused(SignInRefusal::ChangedMeanwhile));
        }
        let (token, expires_at) = self
            .node
            .sign_token(&user, &groups, audience.as_str(), sequence)
            .map_err(status)?;
        tracing::info!(user = %user.sid, %audience, groups = groups.len(), "token issued");
        Ok(Response::new(pb::AuthenticateResponse {
            token,
            user: Some(self.to_proto(&user)),
            groups: groups.iter().map(|g| self.to_proto(g)).collect(),
            expires_at,
        }))
    }
}

/// Refuses a name or password longer than [`MAX_IDENTITY`]: checked first in
/// every handler, before the caller is looked at or anything is logged.
fn check_len(field: &str, value: &str) -> Result<(), Status> {
    if value.len() > MAX_IDENTITY {
        return Err(EdgeError::invalid(
            field,
            format!("`{field}` is longer than {MAX_IDENTITY} bytes"),
        )
        .into());
    }
    Ok(())
}

/// A name as a log line shows it: a bounded, escaped prefix.
fn shown(name: &str) -> String {
    escape(&bounded(name, ECHO_NAME)).into_owned()
}

/// A denial by one of the forest's own rights (Domain Admins, Replicating
/// Directory Changes).
fn denied(reason: String) -> Status {
    EdgeError::Denied {
        rule: DenialRule::DirectoryRight,
        reason,
    }
    .into()
}

/// The one mapping of the node's errors to statuses.
fn status(err: NodeError) -> Status {
    match err {
        NodeError::Directory(e) => directory_status(e),
        NodeError::Store { .. } => {
            tracing::error!(error = %err, "the directory's store failed");
            EdgeError::Unavailable(
                "the directory's store could not be used; nothing was changed".into(),
            )
            .into()
        }
        NodeError::Config(_)
        | NodeError::Pki(_)
        | NodeError::Tls(_)
        | NodeError::Token(_)
        | NodeError::NotInitialised(_)
        | NodeError::WrongForest { .. } => {
            tracing::error!(error = %err, "internal error");
            EdgeError::Internal("the directory could not complete the request".into()).into()
        }
    }
}

/// The one mapping of directory rules to statuses.
fn directory_status(err: DirectoryError) -> Status {
    let message = err.to_string();
    match err {
        DirectoryError::NotFound(_) | DirectoryError::OtherForest { .. } => {
            EdgeError::NotFound(message)
        }
        DirectoryError::Exists(_) | DirectoryError::AlreadyMember { .. } => {
            EdgeError::AlreadyExists(message)
        }
        DirectoryError::InvalidName(_) | DirectoryError::NotAUser(_) => {
            EdgeError::invalid("name", message)
        }
        DirectoryError::NotAGroup(_) => EdgeError::invalid("group", message),
        DirectoryError::NotMember { .. } => EdgeError::invalid("member", message),
        DirectoryError::EmptyPassword => EdgeError::invalid("password", message),
        DirectoryError::BuiltIn(_) | DirectoryError::AlreadyDisabled(_) => {
            EdgeError::Refused(message)
        }
        DirectoryError::RidsExhausted => EdgeError::Exhausted(message),
        DirectoryError::Hash => {
            tracing::error!(error = %message, "internal error");
            EdgeError::Internal("the directory could not complete the request".into())
        }
    }
    .into()
}

#[tonic::async_trait]
impl pb::directory_server::Directory for DirectoryService {
    type WatchChangesStream = crate::feed::ChangeStream;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let principal = self.replicator_caller(&request)?;
        let from = request.into_inner().from_sequence;
        let stream = crate::feed::watch(self.node.clone(), principal.sid, from)?;
        tracing::info!(caller = %principal.sid, from, "change feed opened");
        Ok(Response::new(stream))
    }

    async fn get_membership_snapshot(
        &self,
        request: Request<pb::MembershipSnapshotRequest>,
    ) -> Result<Response<pb::MembershipSnapshot>, Status> {
        let principal = self.replicator_caller(&request)?;
        let snapshot = crate::feed::snapshot(&self.node);
        tracing::info!(caller = %principal.sid, sequence = snapshot.sequence, users = snapshot.users.len(), "membership snapshot read");
        Ok(Response::new(snapshot))
    }

    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        let result = self.sign_in(request).await;
        self.node.metrics().authentication(result.is_ok());
        result
    }

    async fn lookup_principal(
        &self,
        request: Request<pb::LookupPrincipalRequest>,
    ) -> Result<Response<pb::LookupPrincipalResponse>, Status> {
        check_len("name", &request.get_ref().name)?;
        let principal = self.member_caller(&request)?;
        let name = request.into_inner().name;
        let found = self
            .node
            .read(|d| d.lookup(&name))
            .map_err(directory_status)?;
        tracing::info!(caller = %principal.sid, name = %shown(&name), sid = %found.sid, "principal looked up");
        Ok(Response::new(pb::LookupPrincipalResponse {
            principal: Some(self.to_proto(&found)),
        }))
    }

    async fn resolve_token_groups(
        &self,
        request: Request<pb::ResolveTokenGroupsRequest>,
    ) -> Result<Response<pb::ResolveTokenGroupsResponse>, Status> {
        self.member_caller(&request)?;
        let sid: Sid = request.into_inner().user_sid.parse().map_err(
            |e: crossforest_shared::sid::SidError| {
                Status::from(EdgeError::invalid("user_sid", format!("user_sid: {e}")))
            },
        )?;
        let (user, groups) = self
            .node
            .read(|d| d.lookup_sid(&sid).map(|u| (u, d.transitive_groups(&sid))))
            .map_err(directory_status)?;
        Ok(Response::new(pb::ResolveTokenGroupsResponse {
            user: Some(self.to_proto(&user)),
            groups: groups.iter().map(|g| self.to_proto(g)).collect(),
        }))
    }

    async fn expand_group(
        &self,
        request: Request<pb::ExpandGroupRequest>,
    ) -> Result<Response<pb::ExpandGroupResponse>, Status> {
        self.member_caller(&request)?;
        let sid: Sid = request.into_inner().group_sid.parse().map_err(
            |e: crossforest_shared::sid::SidError| {
                Status::from(EdgeError::invalid("group_sid", format!("group_sid: {e}")))
            },
        )?;
        let (group, users) = self
            .node
            .read(|d| {
                let group = d.lookup_sid(&sid)?;
                d.transitive_users(&sid).map(|users| (group, users))
            })
            .map_err(directory_status)?;
        Ok(Response::new(pb::ExpandGroupResponse {
            group: Some(self.to_proto(&group)),
            users: users.iter().map(|u| self.to_proto(u)).collect(),
        }))
    }
}

#[tonic::async_trait]
impl pb::directory_admin_server::DirectoryAdmin for DirectoryService {
    async fn add_user(
        &self,
        request: Request<pb::AddUserRequest>,
    ) -> Result<Response<pb::AddUserResponse>, Status> {
        check_len("name", &request.get_ref().name)?;
        check_len("password", &request.get_ref().password)?;
        let admin = self.admin_caller(&request)?;
        let req = request.into_inner();
        let user = self
            .node
            .change(|d| d.add_user(&req.name, &req.password))
            .map_err(status)?;
        let credential = self.node.issue_credential(&user).map_err(status)?;
        tracing::info!(admin = %admin.sid, user = %user.sid, name = %shown(&user.name), "user created");
        Ok(Response::new(pb::AddUserResponse {
            user: Some(self.to_proto(&user)),
            credential: Some(pb::Credential {
                certificate_pem: credential.certificate_pem,
                private_key_pem: credential.private_key_pem,
                ca_certificate_pem: self.node.ca_pem(),
            }),
        }))
    }

    async fn add_group(
        &self,
        request: Request<pb::AddGroupRequest>,
    ) -> Result<Response<pb::AddGroupResponse>, Status> {
        check_len("name", &request.get_ref().name)?;
        let admin = self.admin_caller(&request)?;
        let name = request.into_inner().name;
        let group = self.node.change(|d| d.add_group(&name)).map_err(status)?;
        tracing::info!(admin = %admin.sid, group = %group.sid, name = %shown(&name), "group created");
        Ok(Response::new(pb::AddGroupResponse {
            group: Some(self.to_proto(&group)),
        }))
    }

    async fn add_group_member(
        &self,
        request: Request<pb::GroupMemberRequest>,
    ) -> Result<Response<pb::GroupMemberResponse>, Status> {
        self.change_membership(request, true).await
    }

    async fn remove_group_member(
        &self,
        request: Request<pb::GroupMemberRequest>,
    ) -> Result<Response<pb::GroupMemberResponse>, Status> {
        self.change_membership(request, false).await
    }

    async fn disable_user(
        &self,
        request: Request<pb::PrincipalRequest>,
    ) -> Result<Response<pb::PrincipalResponse>, Status> {
        self.change_principal(request, "user disabled", |d, name| d.disable_user(name))
    }

    async fn remove_principal(
        &self,
        request: Request<pb::PrincipalRequest>,
    ) -> Result<Response<pb::PrincipalResponse>, Status> {
        self.change_principal(request, "principal removed", |d, name| {
            d.remove_principal(name)
        })
    }

    async fn list_principals(
        &self,
        request: Request<pb::ListPrincipalsRequest>,
    ) -> Result<Response<pb::ListPrincipalsResponse>, Status> {
        self.admin_caller(&request)?;
        let all = self.node.read(|d| d.principals());
        let lockouts = self.node.lockouts().states(Instant::now());
        Ok(Response::new(pb::ListPrincipalsResponse {
            principals: all.iter().map(|p| self.to_proto(p)).collect(),
            lockouts: lockouts
                .into_iter()
                .map(|l| pb::AccountLockout {
                    sid: l.sid.to_string(),
                    bad_password_count: l.bad_password_count,
                    locked_out_until: match l.locked_out {
                        None => 0,
                        Some(None) => i64::MAX,
                        Some(Some(until)) => until
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
                    },
                })
                .collect(),
        }))
    }

    async fn unlock_account(
        &self,
        request: Request<pb::PrincipalRequest>,
    ) -> Result<Response<pb::UnlockAccountResponse>, Status> {
        let admin = self.admin_caller(&request)?;
        let name = request.into_inner().name;
        check_len("name", &name)?;
        let user = self
            .node
            .read(|d| d.lookup(&name))
            .map_err(directory_status)?;
        if user.is_group {
            return Err(directory_status(DirectoryError::NotAUser(name)));
        }
        let was_locked_out = self.node.lockouts().unlock(&user.sid, Instant::now());
        tracing::info!(admin = %admin.sid, user = %user.sid, name = ?user.name, was_locked_out, "account unlocked");
        Ok(Response::new(pb::UnlockAccountResponse {
            principal: Some(self.to_proto(&user)),
            was_locked_out,
        }))
    }
}

impl DirectoryService {
    fn change_principal(
        &self,
        request: Request<pb::PrincipalRequest>,
        what: &'static str,
        change: impl Fn(&mut crate::directory::Directory, &str) -> Result<PrincipalInfo, DirectoryError>,
    ) -> Result<Response<pb::PrincipalResponse>, Status> {
        check_len("name", &request.get_ref().name)?;
        let admin = self.admin_caller(&request)?;
        let name = request.into_inner().name;
        let principal = self.node.change(|d| change(d, &name)).map_err(status)?;
        tracing::info!(admin = %admin.sid, sid = %principal.sid, name = %shown(&name), "{what}");
        Ok(Response::new(pb::PrincipalResponse {
            principal: Some(self.to_proto(&principal)),
        }))
    }

    async fn change_membership(
        &self,
        request: Request<pb::GroupMemberRequest>,
        add: bool,
    ) -> Result<Response<pb::GroupMemberResponse>, Status> {
        check_len("group", &request.get_ref().group)?;
        check_len("member", &request.get_ref().member)?;
        let admin = self.admin_caller(&request)?;
        let req = request.into_inner();
        let (group, members) = self
            .node
            .change(|d| {
                if add {
                    d.add_member(&req.group, &req.member)?;
                } else {
                    d.remove_member(&req.group, &req.member)?;
                }
                Ok((d.lookup(&req.group)?, d.members(&req.group)?))
            })
            .map_err(status)?;
        tracing::info!(admin = %admin.sid, group = %group.sid, member = %shown(&req.member), add, "membership changed");
        Ok(Response::new(pb::GroupMemberResponse {
            group: Some(self.to_proto(&group)),
            members: members.iter().map(|m| self.to_proto(m)).collect(),
        }))
    }
}
