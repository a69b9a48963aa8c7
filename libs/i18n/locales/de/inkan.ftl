# Inkans Seiten und Mails auf Deutsch.

-product = Inkan

## Jede Seite
page-title = { $title } · { -product }
button-back-to-sign-in = Zurück zur Anmeldung

## Die Anmeldeseite
login-title = Bei { $project } anmelden
login-heading = Anmelden
login-continue-to = weiter zu
login-email = E-Mail
login-password = Passwort
login-submit = Anmelden
login-forgot = Passwort vergessen?
login-create-account = Konto erstellen
login-passkey = Mit einem Passkey anmelden
login-passkeys-only = { $project } akzeptiert nur Passkeys, und dieser Server kann sie unter dieser Adresse nicht anbieten.
login-failed = E-Mail oder Passwort ist falsch.
login-incomplete = Geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.
login-no-passwords = Diese Anwendung akzeptiert keine Passwörter: Verwenden Sie einen Passkey.
login-stronger = Diese Anwendung verlangt eine stärkere Anmeldung: Verwenden Sie Ihren Passkey.
login-two-step = Diese Anwendung verlangt eine Anmeldung in zwei Schritten: einen Passkey, oder Ihr Passwort und einen Code aus Ihrer Authenticator-App.
login-passkey-failed = Dieser Passkey ließ sich nicht verwenden. Versuchen Sie es erneut oder melden Sie sich anders an.
login-passkey-js-failed = Ihr Passkey ließ sich nicht verwenden. Versuchen Sie es erneut oder melden Sie sich mit Ihrem Passwort an.

## Vergessene Passwörter
forgot-title = Passwort zurücksetzen
forgot-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Gibt es eines dazu, senden wir ihm einen Link, mit dem Sie ein neues Passwort wählen.
forgot-submit = Link senden
forgot-sent = Wenn ein Konto diese Adresse hat, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er funktioniert einmal, 30 Minuten lang.
check-inbox-title = Sehen Sie in Ihr Postfach
reset-title = Neues Passwort wählen
reset-new = Neues Passwort
reset-again = Neues Passwort, noch einmal
reset-submit = Passwort ändern
reset-signs-out = Die Änderung meldet Sie überall ab.
reset-empty = Geben Sie ein neues Passwort ein.
reset-mismatch = Die beiden Passwörter stimmen nicht überein.
reset-rejected = Dieses Passwort ist nicht möglich ({ $problem }).
reset-done-title = Passwort geändert
reset-done = Ihr Passwort wurde geändert und jedes Gerät abgemeldet. Gehen Sie zurück zur Anwendung und melden Sie sich mit dem neuen Passwort an.
link-invalid-title = Dieser Link funktioniert nicht
link-invalid = Er wurde schon verwendet, durch einen neueren ersetzt oder ist abgelaufen. Fordern Sie einen neuen an.
mail-off-title = Nicht verfügbar
mail-off = Dieser Server versendet keine Mails und kann daher keine Passwörter zurücksetzen. Wenden Sie sich an Ihre Administration.

## E-Mail-Bestätigung
verify-title = E-Mail-Adresse bestätigen
verify-new-title = Neue E-Mail-Adresse bestätigen
verify-intro = Bestätigen Sie, dass diese Adresse zu Ihrem Konto gehört.
verify-submit = Bestätigen
verify-done-title = E-Mail-Adresse bestätigt
verify-done = Danke: Ihre E-Mail-Adresse ist bestätigt. Sie können diese Seite schließen.
change-done-title = E-Mail-Adresse geändert
change-done = Ihr Konto meldet sich jetzt mit dieser Adresse an. Sie können diese Seite schließen.
change-taken-title = Diese Adresse hat ein Konto
change-taken = Ein anderes Konto meldet sich mit dieser Adresse an; Ihres behält die bisherige.
verify-first-title = Bestätigen Sie zuerst Ihre E-Mail-Adresse
verify-first = { $project } braucht eine bestätigte Adresse. Wir haben einen Link an Ihre Adresse geschickt: Öffnen Sie ihn und melden Sie sich dann erneut an.
verify-resend = Link erneut senden
verify-resent = Wir haben den Link erneut gesendet. Öffnen Sie ihn und melden Sie sich dann an.

## Registrierung
signup-title = Konto erstellen
signup-for = für
signup-first-name = Vorname (optional)
signup-last-name = Nachname (optional)
signup-password-again = Passwort, noch einmal
signup-submit = Konto erstellen
signup-have-account = Ich habe ein Konto: anmelden
signup-sent = Wir haben eine Mail an die angegebene Adresse geschickt. Öffnen Sie den Link darin, um die Adresse zu bestätigen, und melden Sie sich dann an.
signup-incomplete = Geben Sie Ihre E-Mail-Adresse und ein Passwort ein.
signup-not-email = Das ist keine E-Mail-Adresse.
signup-not-offered = Bei dieser Anwendung können Sie hier kein Konto erstellen. Wenden Sie sich an ihre Administration.

## Mails
mail-greeting = Hallo,
mail-verify-subject = Bestätigen Sie Ihre E-Mail-Adresse
mail-verify-body = bitte bestätigen Sie, dass diese Adresse zu Ihrem { -product }-Konto gehört, indem Sie innerhalb von 24 Stunden diesen Link öffnen:
mail-verify-ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese Mail: Es ändert sich nichts.
mail-reset-subject = Setzen Sie Ihr Passwort zurück
mail-reset-body = jemand (hoffentlich Sie) möchte das Passwort Ihres { -product }-Kontos zurücksetzen. Öffnen Sie innerhalb von 30 Minuten diesen Link, um ein neues zu wählen:
mail-reset-ignore = Der Link funktioniert einmal. Wenn Sie das nicht angefordert haben, ignorieren Sie diese Mail: Ihr Passwort bleibt, wie es ist.
mail-exists-subject = Sie haben bereits ein Konto
mail-exists-body = jemand (hoffentlich Sie) wollte mit dieser Adresse ein { -product }-Konto erstellen, aber es gibt schon eines: Nichts wurde geändert. Wenn Sie es waren, melden Sie sich mit Ihrem Passwort an. Haben Sie es vergessen, wählen Sie innerhalb von 30 Minuten mit diesem Link ein neues:
mail-exists-ignore = Wenn Sie es nicht waren, ignorieren Sie diese Mail.
mail-change-subject = Bestätigen Sie Ihre neue E-Mail-Adresse
mail-change-body = jemand (hoffentlich Sie) möchte ein { -product }-Konto auf diese Adresse umziehen. Öffnen Sie innerhalb von 24 Stunden diesen Link, um sie zu bestätigen; das Konto meldet sich danach mit dieser Adresse an:
mail-change-ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese Mail: Es ändert sich nichts.
mail-changed-subject = Ihr Passwort wurde geändert
mail-changed-body = das Passwort Ihres { -product }-Kontos ({ $email }) wurde soeben über einen Link zurückgesetzt, und jedes damit angemeldete Gerät wurde abgemeldet.
mail-changed-advice = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, setzen Sie Ihr Passwort sofort erneut zurück und informieren Sie Ihre Administration.
mail-moved-subject = Ihr Konto ist auf eine andere Adresse umgezogen
mail-moved-body = Ihr { -product }-Konto meldet sich jetzt mit { $email } statt mit dieser Adresse an: Jemand hat die Änderung über einen dorthin gesendeten Link bestätigt.
mail-moved-advice = Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, informieren Sie sofort Ihre Administration: Ihr Konto könnte in fremden Händen sein.

## Fehlerseiten
error-unusable = Die Anwendung, von der Sie kommen, hat eine Anfrage gestellt, die dieser Server nicht annehmen kann. Gehen Sie zurück und versuchen Sie es erneut, oder wenden Sie sich an den Support der Anwendung.
error-invalid-title = Ungültige Anfrage
error-unknown-client-title = Unbekannte Anwendung
error-unknown-client = Die client_id ist nicht registriert.
error-missing-redirect = Der Parameter redirect_uri ist erforderlich.
error-unregistered-redirect = Die redirect_uri ist für diese Anwendung nicht registriert.
error-expired-title = Anmeldung abgelaufen
error-expired = Diese Anmeldeanfrage ist abgelaufen oder wurde schon verwendet. Gehen Sie zurück zur Anwendung und melden Sie sich erneut an.
error-csrf-title = Anmeldung abgelehnt
error-csrf = Dieses Anmeldeformular ließ sich nicht prüfen. Gehen Sie zurück zur Anwendung und melden Sie sich erneut an.
error-passkeys-off-title = Passkeys nicht verfügbar
error-passkeys-off = Passkeys sind hier nicht verfügbar. Melden Sie sich bitte mit Ihrem Passwort an.
error-logout-title = Abmeldeanfrage abgelehnt
error-logout = Die Abmeldeanfrage der Anwendung ließ sich nicht prüfen, daher sind Sie weiterhin angemeldet.
error-unavailable-title = Vorübergehend nicht verfügbar
error-unavailable = Der Anmeldedienst ist vorübergehend nicht verfügbar. Versuchen Sie es gleich noch einmal.
error-internal-title = Etwas ist schiefgegangen
error-internal = Bei uns ist etwas schiefgegangen. Versuchen Sie es später noch einmal.
logged-out-title = Sie sind abgemeldet
logged-out = Sie wurden abgemeldet. Sie können dieses Fenster schließen.

## Anmeldung in zwei Schritten
code-title = Code eingeben · { $project }
code-heading = Anmeldung in zwei Schritten
code-intro = Geben Sie den sechsstelligen Code aus Ihrer Authenticator-App ein, um zu { $project } weiterzugehen.
code-label = Code
code-submit = Prüfen
code-recovery-hint = Gerät verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein (etwa abcde-fghij).
code-failed = Dieser Code stimmt nicht. Prüfen Sie Ihre App und versuchen Sie es erneut.
code-used = Dieser Code wurde schon verwendet. Warten Sie auf den nächsten und versuchen Sie es erneut.
totp-title = Anmeldung in zwei Schritten einrichten · { $project }
totp-heading = Anmeldung in zwei Schritten einrichten
totp-intro = { $project } verlangt bei der Anmeldung einen zweiten Schritt. Scannen Sie diesen Code mit einer Authenticator-App und geben Sie dann den sechsstelligen Code ein, den sie anzeigt.
totp-qr-label = QR-Code für Ihre Authenticator-App
totp-key = Scannen klappt nicht? Geben Sie diesen Schlüssel in der App ein:
totp-submit = Einschalten
recovery-title = Ihre Wiederherstellungscodes · { $project }
recovery-heading = Speichern Sie Ihre Wiederherstellungscodes
recovery-intro = Die Anmeldung in zwei Schritten ist eingeschaltet. Verlieren Sie Ihr Gerät, meldet Sie jeder dieser Codes einmal an. Bewahren Sie sie sicher auf: Sie werden nicht noch einmal angezeigt.
recovery-saved = Gespeichert, weiter

## Passkey-Angebot
offer-title = Passkey erstellen · { $project }
offer-heading = Beim nächsten Mal schneller anmelden
offer-intro = Erstellen Sie einen Passkey, um sich bei { $project } mit Fingerabdruck, Gesicht oder Bildschirmsperre statt mit einem Passwort anzumelden.
offer-create = Passkey erstellen
offer-not-now = Jetzt nicht
offer-not-created = Es wurde kein Passkey erstellt. Versuchen Sie es erneut oder machen Sie ohne weiter.

## Die Kontoseite
account-title = Ihr Konto
account-confirmed = (bestätigt)
account-unconfirmed = (noch nicht bestätigt)
account-names = Namen
account-first-name = Vorname
account-last-name = Nachname
account-save-names = Namen speichern
account-email = E-Mail-Adresse
account-new-email = Neue Adresse
account-send-email-link = Link an die neue Adresse senden
account-password = Passwort
account-current-password = Aktuelles Passwort
account-sessions = Angemeldete Browser
account-this-browser = dieser Browser
account-signed-in = angemeldet { $when }
account-last-used = zuletzt benutzt { $when }
account-sign-out-one = Abmelden
account-sign-out-others = Alle anderen Browser abmelden
account-apps = Verbundene Anwendungen
account-no-apps = Keine Anwendung hat eine dauerhafte Anmeldung.
account-since = seit { $when }
account-revoke = Widerrufen
account-methods = Anmeldemethoden
account-no-passkeys = Keine Passkeys.
account-remove = Entfernen
account-add-passkey = Passkey hinzufügen
account-totp-on = Codes in zwei Schritten: an
account-totp-off = Codes in zwei Schritten: aus
account-totp-remove = Codes in zwei Schritten ausschalten
account-totp-add = Codes in zwei Schritten einschalten
account-sign-out = Abmelden
account-unknown-browser = Unbekannter Browser
account-unknown-address = unbekannte Adresse
account-done-names = Ihre Namen wurden gespeichert.
account-done-password = Ihr Passwort wurde geändert.
account-done-session = Dieser Browser wurde abgemeldet.
account-done-others = Alle anderen Browser wurden abgemeldet.
account-done-app = Der Zugriff der Anwendung wurde widerrufen: Sie muss Sie erneut anmelden.
account-done-passkey = Der Passkey wurde entfernt.
account-done-totp = Codes in zwei Schritten sind aus.
account-done-email = Wir haben einen Link an die neue Adresse geschickt: Ihr Konto zieht dorthin um, sobald Sie ihn öffnen.
account-names-rejected = Ihre Namen wurden nicht gespeichert: { $problem }.
account-email-rejected = Die Adresse wurde nicht geändert: { $problem }.
account-email-mail-off = Dieser Server versendet keine Mails und kann daher keine neue Adresse prüfen.
account-passwords-differ = Die beiden neuen Passwörter stimmen nicht überein.
account-wrong-password = Ihr aktuelles Passwort stimmt nicht.
account-sign-in-again = Melden Sie sich zu Ihrer Sicherheit ab und wieder an, um Ihre Anmeldemethoden zu ändern (eine Anmeldung aus den letzten 10 Minuten ist nötig).
