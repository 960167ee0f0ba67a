//! The request stream every engine decides: write requests by the workload's
//! callers on recipients of the model, a deterministic mix of allowed and
//! denied ones.

use crate::model::{Model, Rng, Workload};

/// A kind of request: a cmdlet with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKind {
    /// Cmdlet name.
    pub cmdlet: &'static str,
    /// Parameter names.
    pub parameters: Vec<String>,
}

/// The kinds in the stream, indexed by [`StreamRequest::kind`].
pub fn kinds() -> Vec<RequestKind> {
    let kind = |cmdlet, parameters: &[&str]| RequestKind {
        cmdlet,
        parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
    };
    vec![
        // 0: Mail Recipients only (OU, filter, exclusive, implicit scopes).
        kind("Set-Mailbox", &["Identity", "CustomAttribute1"]),
        // 1: Mail Recipients or User Options.
        kind("Set-Mailbox", &["Identity", "Office"]),
        // 2: the default policy's MyBaseOptions (Self) or Mail Recipients.
        kind("Set-Mailbox", &["Identity", "Languages"]),
        // 3: no role a caller holds has the cmdlet.
        kind("Remove-Mailbox", &["Identity"]),
    ]
}

/// One request: who, what, on which recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRequest {
    /// Index into the workload's callers.
    pub caller: u32,
    /// Index into [`kinds`].
    pub kind: u8,
    /// Index into the model's recipients.
    pub recipient: u32,
}

/// `n` requests: 40 % `Set-Mailbox -CustomAttribute1` on a recipient the
/// caller may write, 20 % the same on a recipient outside its scopes, 10 % on
/// a recipient protected by an exclusive scope, 10 % `-Office` on any
/// recipient, 10 % `-Languages` on the caller's own mailbox, 10 %
/// `Remove-Mailbox` on an allowed recipient.
pub fn generate(rng: &mut Rng, model: &Model, workload: &Workload, n: usize) -> Vec<StreamRequest> {
    let vip: Vec<u32> = model
        .recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| r.attributes.contains_key("CustomAttribute15"))
        .map(|(i, _)| i as u32)
        .collect();
    let recipients = model.recipients.len();
    (0..n)
        .map(|_| {
            let roll = rng.below(100);
            let pair = |list: &[(usize, usize)], rng: &mut Rng| {
                let (c, r) = list[rng.below(list.len())];
                (c as u32, r as u32)
            };
            let any_caller = |rng: &mut Rng| rng.below(workload.callers.len()) as u32;
            let (caller, kind, recipient) = match roll {
                0..=39 => {
                    let (c, r) = pair(&workload.allowed, rng);
                    (c, 0, r)
                }
                40..=59 => {
                    let (c, r) = pair(&workload.denied, rng);
                    (c, 0, r)
                }
                60..=69 => {
                    let c = any_caller(rng);
                    let r = if vip.is_empty() {
                        rng.below(recipients) as u32
                    } else {
                        vip[rng.below(vip.len())]
                    };
                    (c, 0, r)
                }
                70..=79 => (any_caller(rng), 1, rng.below(recipients) as u32),
                80..=89 => {
                    let c = any_caller(rng);
                    (c, 2, workload.callers[c as usize].mailbox as u32)
                }
                _ => {
                    let (c, r) = pair(&workload.allowed, rng);
                    (c, 3, r)
                }
            };
            StreamRequest {
                caller,
                kind,
                recipient,
            }
        })
        .collect()
}
