# A role group for Seattle's recipient administrators: the role group creation
# workflow of "Understanding management role groups" (docs/rules.md, R-RG-5, R-RG-6).
# Run once, on a lab after `crossforest demo` or `crossforest up`, as a member of
# Organization Management:
#   crossforest shell --lab crossforest-lab --as 'contoso\Administrator' --file examples/seattle-role-group.ps1
# The script stops at the first failing line.

# 1. The people of the example. The eleven members are mailboxes; Brian and
#    David only manage the group. Nora joins and leaves it later.
New-Mailbox -Name Ray
New-Mailbox -Name Jenn
New-Mailbox -Name Maria
New-Mailbox -Name Chris
New-Mailbox -Name Maija
New-Mailbox -Name Carter
New-Mailbox -Name Jenny
New-Mailbox -Name Sam
New-Mailbox -Name Lukas
New-Mailbox -Name Isabel
New-Mailbox -Name Katie
New-Mailbox -Name Brian
New-Mailbox -Name David
New-Mailbox -Name Nora

# 2. Recipients for them to administer: Ana works in Seattle, Tom in Portland.
New-Mailbox -Name Ana -OrganizationalUnit contoso.com/Seattle
Set-User Ana -City Seattle
New-Mailbox -Name Tom -OrganizationalUnit contoso.com/Sales
Set-User Tom -City Portland

# 3. The write scope the example names: recipients whose City is Seattle.
New-ManagementScope -Name "Seattle Users" -RecipientRestrictionFilter {City -eq "Seattle"}

# 4. The example's command, as the documentation writes it (without the stray
#    comma after "Seattle Users"). It creates the group under the Microsoft
#    Exchange Security Groups OU, adds the eleven members, sets ManagedBy
#    (Brian and David manage it without its permissions; Katie does both) and
#    creates the four assignments "Mail Recipients_Seattle Recipient
#    Management" etc., each with the scope "Seattle Users".
New-RoleGroup -Name "Seattle Recipient Management" -Roles "Mail Recipients", "Distribution Groups", "Move Mailboxes", "UM Mailboxes" -CustomRecipientWriteScope "Seattle Users" -ManagedBy "Brian", "David", "Katie" -Members "Ray", "Jenn", "Maria", "Chris", "Maija", "Carter", "Jenny", "Sam", "Lukas", "Isabel", "Katie"

# What each of them may do afterwards. Ray, Brian and Katie are users of
# contoso.com; each needs a credential first:
#   crossforest pki issue-user --lab crossforest-lab --forest contoso.com --user Ray
#   crossforest pki issue-user --lab crossforest-lab --forest contoso.com --user Brian
#   crossforest pki issue-user --lab crossforest-lab --forest contoso.com --user Katie
#
# Ray, a member, changes Seattle's recipients and no others, and can't change
# the group:
#   crossforest shell --lab crossforest-lab --as 'contoso\Ray' -c 'Set-Mailbox Ana -CustomAttribute1 "Seattle office"'
#   crossforest shell --lab crossforest-lab --as 'contoso\Ray' -c 'Set-Mailbox Tom -CustomAttribute1 "Seattle office"'
#     DENIED: Tom is outside the write scope "Seattle Users"
#   crossforest shell --lab crossforest-lab --as 'contoso\Ray' -c 'Add-RoleGroupMember "Seattle Recipient Management" -Member Nora'
#     DENIED: only the group's managers (its ManagedBy) may change its membership
#
# Brian, a manager, changes the membership but gets none of the permissions:
#   crossforest shell --lab crossforest-lab --as 'contoso\Brian' -c 'Add-RoleGroupMember "Seattle Recipient Management" -Member Nora'
#   crossforest shell --lab crossforest-lab --as 'contoso\Brian' -c 'Set-Mailbox Ana -CustomAttribute1 "Brian was here"'
#     DENIED: none of Brian's roles grants -CustomAttribute1 (Mail Recipients would)
#
# Katie, a member and a manager, does both:
#   crossforest shell --lab crossforest-lab --as 'contoso\Katie' -c 'Set-Mailbox Ana -CustomAttribute2 "checked by Katie"'
#   crossforest shell --lab crossforest-lab --as 'contoso\Katie' -c 'Remove-RoleGroupMember "Seattle Recipient Management" -Member Nora -Confirm:$false'
#   crossforest shell --lab crossforest-lab --as 'contoso\Katie' -c 'Set-Mailbox Tom -CustomAttribute2 "checked by Katie"'
#     DENIED: Tom is outside the write scope "Seattle Users"
