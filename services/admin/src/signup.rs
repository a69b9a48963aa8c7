//! Self-registration: an account created from a project's login page.
//!
//! The answer never says whether the address had an account (OWASP
//! Authentication Cheat Sheet, "Account creation"): a new address gets an
//! identity and a verification link; an address that has an account gets a
//! mail saying so, with a reset link, and its account is left as it was.
//! Both paths hash the password (argon2id) and append, so they also cost
//! about the same.

use inkan_domain::identity::{Identity, IdentityCommand, LinkPurpose, ProfileInput};
use inkan_domain::validation::check_password_for_email;
use inkan_domain::FieldError;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::links::{self, Link};
use crate::state::AdminState;

/// What the user typed.
pub struct SignUp {
    pub client_id: String,
    pub email: String,
    pub password: Zeroizing<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: String,
}

/// How a sign-up went, as the page may tell it.
#[derive(Debug, PartialEq, Eq)]
pub enum SignedUp {
    /// A mail is on its way (a verification link, or "you have an account").
    Accepted,
    /// The input breaks a rule; nothing was stored.
    Invalid(Vec<FieldError>),
    /// The project does not exist or does not allow sign-up.
    NotAllowed,
}

pub async fn sign_up(state: &AdminState, request: SignUp) -> Result<SignedUp, ApiError> {
    let allowed = state
        .projections
        .project_by_client_id(&request.client_id)
        .and_then(|p| p.state.settings)
        .is_some_and(|s| s.allow_signup);
    if !allowed {
        return Ok(SignedUp::NotAllowed);
    }
    if !state.mail {
        return Err(ApiError::MailOff);
    }
    let email = request.email.trim().to_string();
    if let Err(problem) =
        check_password_for_email(&request.password, state.password_min_length, Some(&email))
    {
        return Ok(SignedUp::Invalid(vec![FieldError::new(
            "password", problem,
        )]));
    }
    let password_hash = state.hash_password(request.password.to_string()).await?;
    let id = Uuid::now_v7();
    let register = IdentityCommand::Register {
        input: ProfileInput {
            email: Some(email.clone()),
            email_verified: Some(false),
            first_name: request.first_name,
            last_name: request.last_name,
            claims: None,
        },
        password_hash: Some(password_hash),
    };
    let actor = format!("signup:{}", request.client_id);
    let link = |purpose, signup| Link {
        purpose,
        locale: &request.locale,
        client_id: Some(request.client_id.clone()),
        signup,
        new_email: None,
    };
    match crate::commands::execute::<Identity>(state, &actor, id, register).await {
        Ok(_) => {
            links::issue(state, &actor, id, link(LinkPurpose::VerifyEmail, false)).await?;
            Ok(SignedUp::Accepted)
        }
        Err(ApiError::Taken { .. }) => {
            let existing = state.projections.identity_by_email(&email).await?;
            if let Some(existing) = existing {
                let offer = link(LinkPurpose::ResetPassword, true);
                links::issue(state, &actor, existing.state.id, offer).await?;
            }
            Ok(SignedUp::Accepted)
        }
        Err(ApiError::Invalid(fields)) => Ok(SignedUp::Invalid(fields)),
        Err(e) => Err(e),
    }
}
