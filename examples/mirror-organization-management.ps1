# A linked role group that mirrors Organization Management (docs/rules.md, R-LRG-4;
# "Create linked role groups that mirror built-in role groups").
# Run as a member of Organization Management:
#   crossforest shell --lab crossforest-lab --as 'contoso\Administrator' --file examples/mirror-organization-management.ps1
# Members of the foreign group then hold exactly what Organization Management
# holds: each regular assignment as a regular one, each delegating one as a
# delegating one only (Organization Management may hand out Mailbox Search
# without holding it; so may the linked group, no more).

# The account forest's group, a domain controller of its forest and the
# credential the organization holds for it.
$ForeignGroup = "fabrikam\Exchange Admins"
$DomainController = "dc01.fabrikam.com"
$Credential = "fabrikam\svc-contoso"
$LinkedGroup = "fabrikam Organization Management"

$OrgMgmt = Get-RoleGroup "Organization Management"
New-RoleGroup $LinkedGroup -LinkedForeignGroup $ForeignGroup -LinkedDomainController $DomainController -LinkedCredential $Credential -Description $OrgMgmt.Description

# The regular assignments, then the delegating ones.
Get-ManagementRoleAssignment -RoleAssignee "Organization Management" -Delegating $false |
  ForEach-Object { New-ManagementRoleAssignment -Role $_.Role -SecurityGroup $LinkedGroup }
Get-ManagementRoleAssignment -RoleAssignee "Organization Management" -Delegating $true |
  ForEach-Object { New-ManagementRoleAssignment -Role $_.Role -SecurityGroup $LinkedGroup -Delegating }

# What the linked group holds now.
Get-ManagementRoleAssignment -RoleAssignee $LinkedGroup | Measure-Object | Select-Object Count
