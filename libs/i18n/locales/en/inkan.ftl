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
login-passkey-js-failed = Your passkey could not be used. Try again, or sign in with your password.

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
mail-moved-subject = Your account moved to another address
mail-moved-body = your { -product } account now signs in with { $email } instead of this address: someone confirmed the change with a link sent there.
mail-moved-advice = If this was you, there is nothing more to do. If it was not, tell your administrator at once: your account may be in someone else's hands.

## Error pages
error-unusable = The application that sent you here made a request this server cannot accept. Please go back and try again, or contact the application's support.
error-invalid-title = Invalid request
error-unknown-client-title = Unknown application
error-unknown-client = The client_id is not registered.
error-missing-redirect = The redirect_uri parameter is required.
error-unregistered-redirect = The redirect_uri is not registered for this application.
error-expired-title = Sign-in expired
error-expired = This sign-in request expired or was already used. Please go back to the application and sign in again.
error-csrf-title = Sign-in refused
error-csrf = This sign-in form could not be verified. Please go back to the application and sign in again.
error-passkeys-off-title = Passkeys unavailable
error-passkeys-off = Passkeys are not available here. Please sign in with your password.
error-logout-title = Logout request refused
error-logout = The application's logout request could not be verified, so you are still signed in.
error-unavailable-title = Temporarily unavailable
error-unavailable = The sign-in service is temporarily unavailable. Please try again in a moment.
error-internal-title = Something went wrong
error-internal = Something went wrong on our side. Please try again later.
logged-out-title = You are logged out
logged-out = You have been signed out. You can close this window.

## Two-step verification
code-title = Enter your code · { $project }
code-heading = Two-step verification
code-intro = Enter the 6-digit code from your authenticator app to continue to { $project }.
code-label = Code
code-submit = Verify
code-recovery-hint = Lost your device? Enter one of your recovery codes instead (like abcde-fghij).
code-failed = That code is not right. Check your app and try again.
code-used = That code was used already. Wait for the next one and try again.
totp-title = Set up two-step verification · { $project }
totp-heading = Set up two-step verification
totp-intro = { $project } asks for a second step at sign-in. Scan this code with an authenticator app, then enter the 6-digit code it shows.
totp-qr-label = QR code for your authenticator app
totp-key = Can't scan it? Enter this key in the app:
totp-submit = Turn on
recovery-title = Your recovery codes · { $project }
recovery-heading = Save your recovery codes
recovery-intro = Two-step verification is on. If you lose your device, each of these codes signs you in once. Keep them somewhere safe: they are not shown again.
recovery-saved = I have saved them, continue

## Passkey offer
offer-title = Create a passkey · { $project }
offer-heading = Sign in faster next time
offer-intro = Create a passkey to sign in to { $project } with your fingerprint, face or screen lock instead of a password.
offer-create = Create a passkey
offer-not-now = Not now
offer-not-created = No passkey was created. Try again, or continue without one.

## The account page
account-title = Your account
account-confirmed = (confirmed)
account-unconfirmed = (not confirmed yet)
account-names = Names
account-first-name = First name
account-last-name = Last name
account-save-names = Save the names
account-email = Email address
account-new-email = New address
account-send-email-link = Send a link to the new address
account-password = Password
account-current-password = Current password
account-sessions = Signed-in browsers
account-this-browser = this browser
account-signed-in = signed in { $when }
account-last-used = last used { $when }
account-sign-out-one = Sign out
account-sign-out-others = Sign out every other browser
account-apps = Connected apps
account-no-apps = No app holds a long-lived sign-in.
account-since = since { $when }
account-revoke = Revoke
account-methods = Sign-in methods
account-no-passkeys = No passkeys.
account-remove = Remove
account-add-passkey = Add a passkey
account-totp-on = Two-step codes: on
account-totp-off = Two-step codes: off
account-totp-remove = Turn two-step codes off
account-totp-add = Turn two-step codes on
account-sign-out = Sign out
account-unknown-browser = Unknown browser
account-unknown-address = unknown address
account-done-names = Your names were saved.
account-done-password = Your password was changed.
account-done-session = That browser was signed out.
account-done-others = Every other browser was signed out.
account-done-app = The app's access was revoked: it must ask you to sign in again.
account-done-passkey = The passkey was removed.
account-done-totp = Two-step codes are off.
account-done-email = We sent a link to the new address: your account moves there when you open it.
account-names-rejected = Your names were not saved: { $problem }.
account-email-rejected = The address was not changed: { $problem }.
account-email-mail-off = This server sends no mail, so it cannot check a new address.
account-passwords-differ = The two new passwords are not the same.
account-wrong-password = Your current password is not right.
account-sign-in-again = For your safety, sign out and in again to change how you sign in (a sign-in from the last 10 minutes is needed).
