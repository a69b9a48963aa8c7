//! The words of Inkan's pages and mails, in Fluent message catalogues
//! (<https://projectfluent.org>): English and German built in, and any
//! `<language>/*.ftl` files in a folder the operator names
//! (`INKAN_LOCALES_DIR`), which add languages or change single messages
//! without touching code. A message a catalogue lacks comes from English.
//!
//! A request's language is the first of its `ui_locales` (OIDC Core
//! §3.1.2.1, space-separated BCP 47 tags, in order of preference) that a
//! catalogue has, else the best match of its `Accept-Language` (RFC 9110
//! §12.5.4), else English ([`Catalogues::negotiate`]).
//!
//! The pages ask for their words through [`t`] and [`t1`], which read the
//! [`Texts`] the request runs [`with`] (a task-local, set by the service's
//! middleware), so every page of a request speaks one language without each
//! handler passing it along.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

/// The language every message exists in.
pub const DEFAULT: &str = "en";

const BUILT_IN: [(&str, &str); 2] = [
    ("en", include_str!("../locales/en/inkan.ftl")),
    ("de", include_str!("../locales/de/inkan.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

/// Why catalogues could not be loaded (at start-up: the operator's files).
#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not valid Fluent: {reason}")]
    Syntax { path: String, reason: String },
    #[error("{0} is not a language tag (BCP 47), so it cannot name a catalogue folder")]
    Language(String),
}

/// Every language's catalogue.
pub struct Catalogues {
    bundles: BTreeMap<String, Arc<Bundle>>,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogues")
            .field("languages", &self.languages())
            .finish()
    }
}

fn parse(path: &str, text: String) -> Result<FluentResource, I18nError> {
    FluentResource::try_new(text).map_err(|(_, errors)| I18nError::Syntax {
        path: path.to_owned(),
        reason: errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    })
}

fn bundle(lang: &LanguageIdentifier) -> Bundle {
    let mut bundle = Bundle::new_concurrent(vec![lang.clone()]);
    // No Unicode isolation marks around placeables: the texts go into
    // HTML and plain-text mail, where they would show as stray characters.
    bundle.set_use_isolating(false);
    bundle
}

impl Catalogues {
    /// English and German, as shipped.
    pub fn built_in() -> Catalogues {
        Catalogues::load(None).expect("the built-in catalogues are valid Fluent")
    }

    /// The built-in catalogues, then every `<language>/*.ftl` in `dir`
    /// (files in name order; a message defined again replaces the earlier one).
    pub fn load(dir: Option<&Path>) -> Result<Catalogues, I18nError> {
        let mut sources: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (lang, text) in BUILT_IN {
            sources
                .entry(lang.to_owned())
                .or_default()
                .push((format!("built-in {lang}/inkan.ftl"), text.to_owned()));
        }
        if let Some(dir) = dir {
            read_dir(dir, &mut sources)?;
        }
        let mut bundles = BTreeMap::new();
        for (lang, files) in sources {
            let id: LanguageIdentifier = lang
                .parse()
                .map_err(|_| I18nError::Language(lang.clone()))?;
            let mut b = bundle(&id);
            for (path, text) in files {
                b.add_resource_overriding(parse(&path, text)?);
            }
            bundles.insert(id.to_string(), Arc::new(b));
        }
        Ok(Catalogues { bundles })
    }

    /// The languages there are catalogues for.
    pub fn languages(&self) -> Vec<String> {
        self.bundles.keys().cloned().collect()
    }

    /// The texts for a request: its `ui_locales`, then its `Accept-Language`.
    pub fn negotiate(&self, ui_locales: Option<&str>, accept_language: Option<&str>) -> Texts {
        let available: Vec<LanguageIdentifier> =
            self.bundles.keys().filter_map(|l| l.parse().ok()).collect();
        let default: LanguageIdentifier = DEFAULT.parse().expect("en is a language tag");
        let pick = |requested: Vec<LanguageIdentifier>| {
            fluent_langneg::negotiate_languages(
                &requested,
                &available,
                None,
                fluent_langneg::NegotiationStrategy::Lookup,
            )
            .first()
            .map(|l| l.to_string())
        };
        let from_ui = ui_locales.and_then(|list| {
            let requested: Vec<LanguageIdentifier> = list
                .split_whitespace()
                .take(10)
                .filter_map(|t| t.parse().ok())
                .collect();
            pick(requested)
        });
        let chosen = from_ui
            .or_else(|| {
                accept_language.and_then(|header| {
                    let header: String = header.chars().take(500).collect();
                    pick(fluent_langneg::accepted_languages::parse(&header))
                })
            })
            .unwrap_or_else(|| default.to_string());
        self.texts(&chosen)
    }

    /// The texts of `lang` (English if there is no such catalogue).
    pub fn texts(&self, lang: &str) -> Texts {
        let fallback = self
            .bundles
            .get(DEFAULT)
            .cloned()
            .expect("the English catalogue is built in");
        let (lang, bundle) = match self.bundles.get(lang) {
            Some(b) => (lang.to_owned(), b.clone()),
            None => (DEFAULT.to_owned(), fallback.clone()),
        };
        Texts {
            lang,
            bundle,
            fallback,
        }
    }
}

fn read_dir(
    dir: &Path,
    sources: &mut BTreeMap<String, Vec<(String, String)>>,
) -> Result<(), I18nError> {
    let read_err = |path: &Path, e: std::io::Error| I18nError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut langs: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    langs.sort_by_key(|e| e.file_name());
    for entry in langs {
        let lang_name = entry.file_name().to_string_lossy().into_owned();
        let lang: LanguageIdentifier = lang_name
            .parse()
            .map_err(|_| I18nError::Language(lang_name.clone()))?;
        let mut files: Vec<_> = std::fs::read_dir(entry.path())
            .map_err(|e| read_err(&entry.path(), e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            sources
                .entry(lang.to_string())
                .or_default()
                .push((path.display().to_string(), text));
        }
    }
    Ok(())
}

/// One language's messages.
#[derive(Clone)]
pub struct Texts {
    lang: String,
    bundle: Arc<Bundle>,
    fallback: Arc<Bundle>,
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts").field("lang", &self.lang).finish()
    }
}

impl Texts {
    /// The language tag (`de`), for `<html lang>` and the mails.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The message `id`; its id itself if no catalogue has it (a typo shows,
    /// it does not break the page).
    pub fn get(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with named arguments.
    pub fn with(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.to_string());
        }
        self.format(id, Some(&fluent_args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        for bundle in [&self.bundle, &self.fallback] {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, args, &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }
}

static ENGLISH: LazyLock<Texts> = LazyLock::new(|| Catalogues::built_in().texts(DEFAULT));

tokio::task_local! {
    static CURRENT: Texts;
}

/// Runs `work` with `texts` as the request's language.
pub async fn with<F: std::future::Future>(texts: Texts, work: F) -> F::Output {
    CURRENT.scope(texts, work).await
}

/// The request's texts (English outside [`with`]).
pub fn current() -> Texts {
    CURRENT
        .try_with(Texts::clone)
        .unwrap_or_else(|_| ENGLISH.clone())
}

/// The request's language tag (`en` outside [`with`]).
pub fn lang() -> String {
    CURRENT
        .try_with(|texts| texts.lang().to_owned())
        .unwrap_or_else(|_| DEFAULT.to_owned())
}

/// The message `id` in the request's language.
pub fn t(id: &str) -> String {
    CURRENT
        .try_with(|texts| texts.get(id))
        .unwrap_or_else(|_| ENGLISH.get(id))
}

/// The message `id` with one argument `name` = `value`.
pub fn t1(id: &str, name: &str, value: &str) -> String {
    CURRENT
        .try_with(|texts| texts.with(id, &[(name, value)]))
        .unwrap_or_else(|_| ENGLISH.with(id, &[(name, value)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_come_first_then_accept_language_then_english() {
        let c = Catalogues::built_in();
        assert_eq!(c.negotiate(Some("fr de"), Some("en")).lang(), "de");
        assert_eq!(
            c.negotiate(None, Some("fr;q=0.9, de-CH;q=0.8, en;q=0.5"))
                .lang(),
            "de"
        );
        assert_eq!(c.negotiate(Some("fr"), Some("fr")).lang(), "en");
        assert_eq!(c.negotiate(None, None).lang(), "en");
        assert_eq!(
            c.negotiate(Some("!!"), Some("\u{0}garbage;;q=x")).lang(),
            "en"
        );
    }

    #[test]
    fn every_built_in_message_exists_in_every_built_in_language() {
        let c = Catalogues::built_in();
        let ids = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with(['#', ' ', '-']) && l.contains(" = "))
                .map(|l| l.split(" = ").next().unwrap_or_default().to_owned())
                .collect()
        };
        let english = ids(BUILT_IN[0].1);
        assert!(english.len() > 50);
        for (lang, text) in BUILT_IN {
            assert_eq!(
                ids(text),
                english,
                "{lang} has the same messages in the same order"
            );
            let texts = c.texts(lang);
            for id in &english {
                assert_ne!(texts.get(id), *id, "{lang}: {id}");
            }
        }
        assert_eq!(
            c.texts("de").with("login-title", &[("project", "Shop")]),
            "Bei Shop anmelden"
        );
    }

    #[test]
    fn a_folder_adds_languages_and_replaces_single_messages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fr")).unwrap();
        std::fs::write(
            dir.path().join("fr/inkan.ftl"),
            "login-heading = Connexion\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("de")).unwrap();
        std::fs::write(
            dir.path().join("de/custom.ftl"),
            "login-heading = Einloggen\n",
        )
        .unwrap();
        let c = Catalogues::load(Some(dir.path())).unwrap();
        assert_eq!(c.languages(), ["de", "en", "fr"]);
        let fr = c.negotiate(Some("fr"), None);
        assert_eq!(fr.get("login-heading"), "Connexion");
        assert_eq!(
            fr.get("login-submit"),
            "Sign in",
            "missing messages come from English"
        );
        assert_eq!(c.texts("de").get("login-heading"), "Einloggen");
        assert_eq!(c.texts("de").get("login-submit"), "Anmelden");

        std::fs::write(dir.path().join("fr/broken.ftl"), "= no id\n").unwrap();
        assert!(matches!(
            Catalogues::load(Some(dir.path())),
            Err(I18nError::Syntax { .. })
        ));
    }

    #[tokio::test]
    async fn pages_read_the_language_of_their_request() {
        let c = Catalogues::built_in();
        assert_eq!(t("login-submit"), "Sign in");
        let german = with(c.texts("de"), async {
            t1("login-title", "project", "Shop")
        })
        .await;
        assert_eq!(german, "Bei Shop anmelden");
    }
}
