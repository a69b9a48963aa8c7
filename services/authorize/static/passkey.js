// Passkeys on Inkan's login pages (WebAuthn Level 3): sign in with a
// discoverable credential (a button, and autofill through conditional
// mediation), and create one after a password login. Served from the
// issuer's own origin; the pages' Content-Security-Policy allows no other
// script. The server runs every check: this file only carries challenges
// to the authenticator and its answers back, as base64url JSON.
"use strict";
(() => {
  const b64u = (buffer) => {
    let text = "";
    for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const bytes = (value) => {
    const b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const supported = () => typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

  // The page puts its failure message, in the page's language, on the
  // status element (data-failed); the English text is the fallback.
  const status = (fallback) => {
    const el = document.getElementById("passkey-status");
    if (el) {
      el.textContent = el.dataset.failed || fallback;
      el.hidden = false;
    }
  };

  // A ceremony's options, bound server-side to this pending sign-in and browser.
  const options = async (url, form) => {
    const body = new URLSearchParams({ authz: form.elements.authz.value, csrf: form.elements.csrf.value });
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  };

  const credentialIds = (list) => (list || []).map((c) => ({ ...c, id: bytes(c.id) }));

  const requestOptions = (challenge) => {
    const pk = challenge.publicKey;
    return { ...pk, challenge: bytes(pk.challenge), allowCredentials: credentialIds(pk.allowCredentials) };
  };

  const creationOptions = (challenge) => {
    const pk = challenge.publicKey;
    return {
      ...pk,
      challenge: bytes(pk.challenge),
      user: { ...pk.user, id: bytes(pk.user.id) },
      excludeCredentials: credentialIds(pk.excludeCredentials),
    };
  };

  const assertion = (credential) => {
    const r = credential.response;
    return {
      id: credential.id,
      rawId: b64u(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: b64u(r.authenticatorData),
        clientDataJSON: b64u(r.clientDataJSON),
        signature: b64u(r.signature),
        userHandle: r.userHandle ? b64u(r.userHandle) : null,
      },
      extensions: credential.getClientExtensionResults(),
    };
  };

  const attestation = (credential) => {
    const r = credential.response;
    return {
      id: credential.id,
      rawId: b64u(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: b64u(r.attestationObject),
        clientDataJSON: b64u(r.clientDataJSON),
        transports: typeof r.getTransports === "function" ? r.getTransports() : null,
      },
      extensions: credential.getClientExtensionResults(),
    };
  };

  // The answer goes back as an ordinary form post, so the server's redirect
  // (to the relying party, or the page again with a message) is followed.
  const submit = (form, ceremony, answer) => {
    form.elements.ceremony.value = ceremony;
    form.elements.credential.value = JSON.stringify(answer);
    form.submit();
  };

  // ---- the login page ----
  const loginForm = document.getElementById("passkey-login-form");
  if (loginForm && supported()) {
    const button = document.getElementById("passkey-login");
    let autofill = null;
    const signIn = async (conditional) => {
      const challenge = await options("/login/passkey/options", loginForm);
      const request = { publicKey: requestOptions(challenge.options) };
      if (conditional) {
        autofill = new AbortController();
        request.mediation = "conditional";
        request.signal = autofill.signal;
      }
      const credential = await navigator.credentials.get(request);
      if (credential) submit(loginForm, challenge.ceremony, assertion(credential));
    };
    button.hidden = false;
    button.addEventListener("click", () => {
      if (autofill) autofill.abort();
      autofill = null;
      signIn(false).catch((e) => {
        if (e.name !== "AbortError") status("Your passkey could not be used. Try again, or sign in with your password.");
      });
    });
    if (typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
      PublicKeyCredential.isConditionalMediationAvailable()
        .then((available) => (available ? signIn(true) : null))
        .catch(() => {});
    }
    // Tells the server this browser could create a passkey, so a user who
    // signs in with a password is offered one.
    const flag = document.getElementById("passkey-available");
    if (flag && typeof PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable === "function") {
      PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()
        .then((available) => {
          if (available) flag.value = "available";
        })
        .catch(() => {});
    }
  }

  // ---- the offer to create a passkey ----
  const registerForm = document.getElementById("passkey-register");
  if (registerForm) {
    const button = document.getElementById("passkey-create");
    if (!supported()) {
      button.hidden = true;
    } else {
      button.addEventListener("click", async () => {
        try {
          const challenge = await options("/passkeys/options", registerForm);
          const credential = await navigator.credentials.create({ publicKey: creationOptions(challenge.options) });
          if (credential) submit(registerForm, challenge.ceremony, attestation(credential));
        } catch (e) {
          status("No passkey was created. Try again, or continue without one.");
        }
      });
    }
  }
})();
