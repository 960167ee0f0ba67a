//! The directory's own tools, as a client of `DirectoryAdmin`: what
//! `account-forest user add`, `user unlock` and `group add-member` call.

use crossforest_shared::client::{connect, ConnectError, ForestEndpoint};
use crossforest_shared::pki::IssuedCertificate;
use crossforest_shared::proto::directory::v1 as pb;
use pb::directory_admin_client::DirectoryAdminClient;
use tonic::transport::Channel;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The forest refused or failed the call.
    #[error("{}", .0.message())]
    Status(#[from] tonic::Status),
}

/// A connection to an account forest's `DirectoryAdmin` service.
#[derive(Debug, Clone)]
pub struct DirectoryAdmin {
    client: DirectoryAdminClient<Channel>,
}

impl DirectoryAdmin {
    /// Connects as `credential` (the forest's Administrator or a Domain Admin).
    pub async fn connect(
        endpoint: &ForestEndpoint,
        credential: &IssuedCertificate,
    ) -> Result<Self, AdminError> {
        Ok(Self {
            client: DirectoryAdminClient::new(connect(endpoint, credential).await?),
        })
    }

    /// Creates a user; returns it and its new credential.
    pub async fn add_user(
        &mut self,
        name: &str,
        password: &str,
    ) -> Result<(pb::Principal, IssuedCertificate), AdminError> {
        let response = self
            .client
            .add_user(pb::AddUserRequest {
                name: name.to_owned(),
                password: password.to_owned(),
            })
            .await?
            .into_inner();
        let credential = response.credential.unwrap_or_default();
        Ok((
            response.user.unwrap_or_default(),
            IssuedCertificate {
                certificate_pem: credential.certificate_pem,
                private_key_pem: credential.private_key_pem,
            },
        ))
    }

    /// Creates a universal security group.
    pub async fn add_group(&mut self, name: &str) -> Result<pb::Principal, AdminError> {
        Ok(self
            .client
            .add_group(pb::AddGroupRequest {
                name: name.to_owned(),
            })
            .await?
            .into_inner()
            .group
            .unwrap_or_default())
    }

    /// Adds `member` to `group`; returns the group's members afterwards.
    pub async fn add_member(
        &mut self,
        group: &str,
        member: &str,
    ) -> Result<Vec<pb::Principal>, AdminError> {
        let request = pb::GroupMemberRequest {
            group: group.to_owned(),
            member: member.to_owned(),
        };
        Ok(self
            .client
            .add_group_member(request)
            .await?
            .into_inner()
            .members)
    }

    /// Removes `member` from `group`; returns the group's members afterwards.
    pub async fn remove_member(
        &mut self,
        group: &str,
        member: &str,
    ) -> Result<Vec<pb::Principal>, AdminError> {
        let request = pb::GroupMemberRequest {
            group: group.to_owned(),
            member: member.to_owned(),
        };
        Ok(self
            .client
            .remove_group_member(request)
            .await?
            .into_inner()
            .members)
    }

    /// Disables a user (`Disable-ADAccount`).
    pub async fn disable_user(&mut self, name: &str) -> Result<pb::Principal, AdminError> {
        let request = pb::PrincipalRequest {
            name: name.to_owned(),
        };
        Ok(self
            .client
            .disable_user(request)
            .await?
            .into_inner()
            .principal
            .unwrap_or_default())
    }

    /// Deletes a user or group (`Remove-ADUser`, `Remove-ADGroup`).
    pub async fn remove_principal(&mut self, name: &str) -> Result<pb::Principal, AdminError> {
        let request = pb::PrincipalRequest {
            name: name.to_owned(),
        };
        Ok(self
            .client
            .remove_principal(request)
            .await?
            .into_inner()
            .principal
            .unwrap_or_default())
    }

    /// Every user and group, and the accounts with bad passwords counted or
    /// locked out on the node answering.
    pub async fn list(&mut self) -> Result<pb::ListPrincipalsResponse, AdminError> {
        Ok(self
            .client
            .list_principals(pb::ListPrincipalsRequest {})
            .await?
            .into_inner())
    }

    /// Unlocks a user (`Unlock-ADAccount`) on the node answering; returns it
    /// and whether it was locked out.
    pub async fn unlock(&mut self, name: &str) -> Result<(pb::Principal, bool), AdminError> {
        let response = self
            .client
            .unlock_account(pb::PrincipalRequest {
                name: name.to_owned(),
            })
            .await?
            .into_inner();
        Ok((
            response.principal.unwrap_or_default(),
            response.was_locked_out,
        ))
    }
}
