# RBAC split permissions: the documented procedure's steps 1-6 (see
# docs/rules.md, R-SPLIT-2).
# Run as a member of Organization Management:
#   crossforest shell --lab crossforest-lab --as 'contoso\Administrator' --file examples/rbac-split.ps1
# Afterwards only "Active Directory Administrators" may create or remove
# mailboxes, mail users and mail contacts; Exchange administrators keep
# changing Exchange attributes. The script stops at the first failing line.

# 1. Active Directory split permissions must be off. Setup does that:
#    crossforest setup --lab crossforest-lab --prepare-ad --active-directory-split-permissions false

# 2. A role group for the directory administrators.
New-RoleGroup -Name "Active Directory Administrators" -Description "Create security principals (RBAC split permissions)"

# 3. Regular and delegating assignments of Mail Recipient Creation to it.
New-ManagementRoleAssignment -Role "Mail Recipient Creation" -SecurityGroup "Active Directory Administrators"
New-ManagementRoleAssignment -Role "Mail Recipient Creation" -SecurityGroup "Active Directory Administrators" -Delegating

# 4. The same for Security Group Creation and Membership.
New-ManagementRoleAssignment -Role "Security Group Creation and Membership" -SecurityGroup "Active Directory Administrators"
New-ManagementRoleAssignment -Role "Security Group Creation and Membership" -SecurityGroup "Active Directory Administrators" -Delegating

# 5. Remove Mail Recipient Creation from Organization Management and
#    Recipient Management (regular and delegating). Unassigning needs a
#    delegating assignment of the role (R-ASG-1), so Organization
#    Management's goes last; it may go because the new group holds one now
#    (R-LOCK-1: it moves).
Remove-ManagementRoleAssignment "Mail Recipient Creation-Recipient Management"
Remove-ManagementRoleAssignment "Mail Recipient Creation-Organization Management"
Remove-ManagementRoleAssignment "Mail Recipient Creation-Organization Management-Delegating"

# 6. Remove Security Group Creation and Membership from Organization Management.
Remove-ManagementRoleAssignment "Security Group Creation and Membership-Organization Management"
Remove-ManagementRoleAssignment "Security Group Creation and Membership-Organization Management-Delegating"
