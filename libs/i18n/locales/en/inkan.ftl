# Inkan's pages and mails, in English. A platform team adds a language or
# changes a text by putting `<language>/*.ftl` files into INKAN_LOCALES_DIR
# (README, "Languages"); messages missing there come from English.

-product = Inkan

## Every page
page-title = { $title } · { -product }
button-back-to-sign-in = Back to sign-in

## The login page
login-title = Sign in to { $project }
login-heading = Sign in
login-continue-to = to continue to
login-email = Email
login-password = Password
login-submit = Sign in
login-forgot = Forgot password?
login-create-account = Create an account
login-passkey = Sign in with a passkey
login-passkeys-only = { $project } accepts only passkeys, and this server cannot offer them at this address.
login-failed = Incorrect email or password.
login-incomplete = Enter your email and password.
login-no-passwords = This application does not accept passwords: use a passkey.
login-stronger = This application asks for a stronger sign-in: use your passkey.
login-two-step = This application asks for two-step sign-in: a passkey, or your password and a code from your authenticator app.
login-passkey-failed = That passkey could not be used. Try again, or sign in another way.

## Forgotten passwords
forgot-title = Reset your password
forgot-intro = Enter the email address of your account. If it has one, we send it a link to choose a new password.
forgot-submit = Send the link
forgot-sent = If an account has this address, a link to choose a new password is on its way. It works once, for 30 minutes.
check-inbox-title = Check your inbox
reset-title = Choose a new password
reset-new = New password
reset-again = New password, again
reset-submit = Change the password
reset-signs-out = Changing it signs you out everywhere.
reset-empty = Enter a new password.
reset-mismatch = The two passwords are not the same.
reset-rejected = This password cannot be used: it { $problem }.
reset-done-title = Password changed
reset-done = Your password was changed and every device was signed out. Go back to the app and sign in with the new password.
link-invalid-title = This link does not work
link-invalid = It was used already, replaced by a newer one, or it expired. Ask for a new one.
mail-off-title = Not available
mail-off = This server does not send mail, so it cannot reset passwords. Ask your administrator.

## Email verification
verify-title = Confirm your email address
verify-new-title = Confirm your new email address
verify-intro = Confirm that this address belongs to your account.
verify-submit = Confirm
verify-done-title = Email address confirmed
verify-done = Thank you: your email address is confirmed. You can close this page.
change-done-title = Email address changed
change-done = Your account now signs in with this address. You can close this page.
change-taken-title = This address has an account
change-taken = Another account signs in with this address, so yours keeps its old one.
verify-first-title = Confirm your email address first
verify-first = { $project } needs a confirmed address. We sent a link to your address: open it, then sign in again.
verify-resend = Send the link again
verify-resent = We sent the link again. Open it, then sign in.

## Sign-up
signup-title = Create an account
signup-for = for
signup-first-name = First name (optional)
signup-last-name = Last name (optional)
signup-password-again = Password, again
signup-submit = Create the account
signup-have-account = I have an account: sign in
signup-sent = We sent a mail to the address you gave. Open its link to confirm the address, then sign in.
signup-incomplete = Enter your email address and a password.
signup-not-email = This is not an email address.
signup-not-offered = This application does not let you create an account here. Ask its administrator.

## Mails
mail-greeting = Hello,
mail-verify-subject = Confirm your email address
mail-verify-body = please confirm that this address belongs to your { -product } account by opening this link within 24 hours:
mail-verify-ignore = If you did not ask for this, ignore this mail: nothing changes.
mail-reset-subject = Reset your password
mail-reset-body = someone (hopefully you) asked to reset the password of your { -product } account. Open this link within 30 minutes to choose a new one:
mail-reset-ignore = The link works once. If you did not ask for this, ignore this mail: your password stays as it is.
mail-exists-subject = You already have an account
mail-exists-body = someone (hopefully you) tried to create a { -product } account with this address, but it has one already: nothing was changed. If it was you, sign in with your password. If you forgot it, choose a new one with this link within 30 minutes:
mail-exists-ignore = If it was not you, ignore this mail.
mail-change-subject = Confirm your new email address
mail-change-body = someone (hopefully you) asked to move a { -product } account to this address. Open this link within 24 hours to confirm it; the account then signs in with this address:
mail-change-ignore = If you did not ask for this, ignore this mail: nothing changes.
mail-changed-subject = Your password was changed
mail-changed-body = the password of your { -product } account ({ $email }) was just changed with a reset link, and every device signed in to it was signed out.
mail-changed-advice = If this was you, there is nothing more to do. If it was not, reset your password again at once and tell your administrator.
