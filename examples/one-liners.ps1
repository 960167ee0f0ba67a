# Everyday one-liners of an Exchange administrator, as the crossforest shell
# runs them. Run as a member of Organization Management, one line at a time:
#   crossforest shell --lab crossforest-lab --as 'contoso\Administrator' -c '<line>'
# or all of them (set $csv to a file you may write first). The test
# tests/tests/scenarios/one_liners.rs runs every line in one shell against a
# fresh lab and compares what it writes with examples/one-liners.expected.

# Mailboxes: create a few, from a CSV file too.
New-Mailbox -Name "Ana Ruiz" -Alias ana -FirstName Ana -LastName Ruiz | Select-Object -ExpandProperty PrimarySmtpAddress
New-Mailbox -Name "Tom Berg" -Alias tom | Select-Object -ExpandProperty UserPrincipalName
@{ Name = "Lee Chan"; Alias = "lee" } | ForEach-Object { New-Mailbox @_ } | Select-Object -ExpandProperty Alias
"Name,Alias,DisplayName" | Out-File $csv
"Kim Olsen,kim,Kim O.", "Raj Patel,raj,Raj P.", "Eva Stone,eva,Eva S." | Out-File $csv -Append
Import-Csv $csv | New-Mailbox | Select-Object -ExpandProperty DisplayName
Import-Csv $csv | Measure-Object | Select-Object -ExpandProperty Count

# Finding and counting.
Get-Mailbox | Sort-Object Name | Select-Object -ExpandProperty Name
(Get-Mailbox).Count
Get-Mailbox -ResultSize Unlimited | Measure-Object | Select-Object -ExpandProperty Count
Get-Mailbox ana | Format-List Name, Alias, PrimarySmtpAddress, OrganizationalUnit
Get-Mailbox -Identity tom@contoso.com | Select-Object -ExpandProperty Name
Get-Mailbox -Anr "ra" | Sort-Object Name | Select-Object -ExpandProperty Name
Get-Mailbox | Where-Object { $_.Alias -like "k*" } | Select-Object -ExpandProperty Name
Get-Mailbox | Where-Object Name -match "^(Ana|Tom) " | Sort-Object Name -Descending | Select-Object -ExpandProperty Alias
Get-Mailbox | Sort-Object Name | Select-Object -First 2 -ExpandProperty Alias
Get-Mailbox | Sort-Object Name | Select-Object -Last 1 -ExpandProperty Alias
Get-Recipient -RecipientTypeDetails UserMailbox | Measure-Object | Select-Object -ExpandProperty Count

# Changing many at once: -Confirm:$false is how a script says "don't ask".
Get-Mailbox | Where-Object { "kim","raj","eva" -contains $_.Alias } | Set-Mailbox -Office "Floor 9" -Confirm:$false
Get-Mailbox | Where-Object Office -eq "Floor 9" | Sort-Object Name | Select-Object -ExpandProperty Name
Get-Mailbox | Where-Object Office | Group-Object Office -NoElement | ForEach-Object { "$($_.Name): $($_.Count)" }
Set-Mailbox ana -CustomAttribute1 Seattle -Office "Floor 2"; Get-Mailbox ana | Format-List Office, CustomAttribute1
foreach ($m in Get-Mailbox | Where-Object Office -eq "Floor 9") { Set-Mailbox $m.Name -CustomAttribute1 Oslo -Confirm:$false }
Get-Mailbox | Where-Object CustomAttribute1 -eq Oslo | Measure-Object | Select-Object -ExpandProperty Count
$floor9 = Get-Mailbox | Where-Object Office -eq "Floor 9"; $floor9.Count
$floor9[0].Alias; $floor9 | ForEach-Object { "$($_.Name) <$($_.PrimarySmtpAddress)>" }
Get-Mailbox | Select-Object Name, Office | Where-Object Office | Sort-Object Office, Name | ConvertTo-Json -Compress
Get-Mailbox tom | Select-Object Name, @{ Name = "Mail"; Expression = { $_.PrimarySmtpAddress } } | ConvertTo-Json

# Exporting and importing: a round trip through a CSV file.
Get-Mailbox | Sort-Object Name | Select-Object Name, Alias, Office | Export-Csv $csv
Import-Csv $csv | Where-Object Office -eq "Floor 9" | Select-Object -ExpandProperty Alias
Import-Csv $csv | Select-Object -First 1 | ConvertTo-Json -Compress
'[{"Name":"Kim Olsen","Office":"Floor 3"}]' | ConvertFrom-Json | ForEach-Object { Set-Mailbox $_.Name -Office $_.Office }
Get-Mailbox kim | Select-Object -ExpandProperty Office

# Removing: -WhatIf says what would go, -Confirm:$false removes.
Remove-Mailbox eva -WhatIf
Remove-Mailbox eva -Confirm:$false | Select-Object -ExpandProperty Removed
Get-Mailbox | Where-Object Alias -eq eva | Measure-Object | Select-Object -ExpandProperty Count

# Who may do what: role groups, assignments, permissions.
Get-RoleGroup | Sort-Object Name | Select-Object -First 3 -ExpandProperty Name
Get-RoleGroup "Organization Management" | Select-Object -ExpandProperty Name
Get-RoleGroupMember "Organization Management" | Select-Object -ExpandProperty Name
Get-ManagementRoleAssignment -Role "Mail Recipients" | Where-Object RoleAssigneeName -eq "Organization Management" | Select-Object -ExpandProperty RoleAssignmentDelegationType
Get-ManagementRoleAssignment -RoleAssignee "Recipient Management" | Select-Object -ExpandProperty Role | Sort-Object -Unique
Get-ManagementRole "Mail Recipients" | Select-Object -ExpandProperty Name
Get-Command -Noun RoleGroupMember | Select-Object -ExpandProperty Name
Get-Command *-Mailbox | Measure-Object | Select-Object -ExpandProperty Count
New-RoleGroup -Name "Helpdesk" -Roles "Mail Recipients" | Select-Object -ExpandProperty Name
Add-RoleGroupMember Helpdesk -Member tom; Get-RoleGroupMember Helpdesk | Select-Object -ExpandProperty Name
Remove-RoleGroupMember Helpdesk -Member tom -Confirm:$false; (Get-RoleGroupMember Helpdesk | Measure-Object).Count

# The admin audit log: who changed what.
Search-AdminAuditLog -Cmdlets Remove-Mailbox | Select-Object -ExpandProperty ObjectModified | Sort-Object -Unique
Search-AdminAuditLog -Cmdlets Set-Mailbox | Where-Object ObjectModified -eq "Ana Ruiz" | Select-Object -ExpandProperty CmdletParameters

# Errors: what went wrong and where; the rest of a pipeline still runs.
Get-Mailbox nobody
"ana","nobody","tom" | Get-Mailbox -ErrorAction Continue | Select-Object -ExpandProperty Alias
