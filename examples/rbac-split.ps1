# RBAC split permissions, as the Exchange documentation writes the procedure
# (docs/rules.md, R-SPLIT-2). Run as a member of Organization Management:
#   crossforest shell --lab crossforest-lab --as 'contoso\Administrator' --file examples/rbac-split.ps1
# Afterwards only "Active Directory Administrators" may create or remove
# mailboxes, mail users, mail contacts and remote mailboxes; Exchange
# administrators keep changing Exchange attributes. The script stops at the
# first failing line.

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

# 5. Remove every other assignment of Mail Recipient Creation, regular and
#    delegating (Organization Management's and Recipient Management's).
#    Organization Management's delegating assignment may go because the new
#    group holds one now: it moves. One pipeline is one statement, run with
#    the permissions it started with, so it runs to its end even though it
#    takes away the delegating assignment that allows it. A script can't
#    answer the confirmation a removal asks for: -Confirm:$false.
Get-ManagementRoleAssignment -Role "Mail Recipient Creation" | Where-Object { $_.RoleAssigneeName -ne "Active Directory Administrators" } | Remove-ManagementRoleAssignment -Confirm:$false

# 6. The same for Security Group Creation and Membership (Organization
#    Management's).
Get-ManagementRoleAssignment -Role "Security Group Creation and Membership" | Where-Object { $_.RoleAssigneeName -ne "Active Directory Administrators" } | Remove-ManagementRoleAssignment -Confirm:$false
