//! Shared by the test binaries: YAML loading (with `<<` merge keys, as compose
//! reads them), the Helm chart renderer (Go text/template through `gtmpl`, with
//! `.Values`, `.Release` and `.Chart` as Helm provides them), and lookups in
//! rendered manifests.

#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};

use inkan_deploy_tests::repo_root;

/// Every YAML document of `text`, merge keys applied, as JSON values (empty documents skipped).
pub fn yaml_docs(text: &str, origin: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
        let mut value = serde_norway::Value::deserialize(doc)
            .unwrap_or_else(|e| panic!("{origin}: document {i} is not YAML: {e}\n{text}"));
        value
            .apply_merge()
            .unwrap_or_else(|e| panic!("{origin}: document {i}: merge keys: {e}"));
        let json: Value = serde_norway::from_value(value)
            .unwrap_or_else(|e| panic!("{origin}: document {i}: {e}"));
        if !json.is_null() {
            docs.push(json);
        }
    }
    docs
}

/// The one YAML document of `text`.
pub fn yaml(text: &str, origin: &str) -> Value {
    let mut docs = yaml_docs(text, origin);
    assert_eq!(docs.len(), 1, "{origin}: expected one YAML document");
    docs.remove(0)
}

/// Lays `over` onto `base` like `helm -f`: maps merge key by key, anything else replaces.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                match base.get_mut(k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        base.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// A JSON value as a template context value (maps behave like Go maps: a missing key is empty).
fn to_gtmpl(value: &Value) -> gtmpl::Value {
    match value {
        Value::Null => gtmpl::Value::Nil,
        Value::Bool(b) => gtmpl::Value::from(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                gtmpl::Value::from(u)
            } else if let Some(i) = n.as_i64() {
                gtmpl::Value::from(i)
            } else {
                gtmpl::Value::from(n.as_f64().expect("a number"))
            }
        }
        Value::String(s) => gtmpl::Value::from(s.as_str()),
        Value::Array(a) => gtmpl::Value::Array(a.iter().map(to_gtmpl).collect()),
        Value::Object(o) => {
            gtmpl::Value::Map(o.iter().map(|(k, v)| (k.clone(), to_gtmpl(v))).collect())
        }
    }
}

/// The chart's folder.
pub fn chart_dir() -> PathBuf {
    repo_root().join("deploy/helm/inkan")
}

/// The release name the tests install as.
pub const RELEASE: &str = "inkan";

/// One rendered Kubernetes object.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub template: String,
    pub kind: String,
    pub name: String,
    pub doc: Value,
}

/// The chart, rendered.
pub struct Rendered {
    /// The values it was rendered with (values.yaml with the overrides laid on).
    pub values: Value,
    /// Each template's output, by file name (NOTES.txt included).
    pub outputs: Vec<(String, String)>,
    pub manifests: Vec<Manifest>,
}

/// Renders every template of the chart with values.yaml and then each override file
/// (paths relative to the chart) laid on top, as `helm template` would.
pub fn render_chart(overrides: &[&str]) -> Rendered {
    let dir = chart_dir();
    let read = |rel: &str| {
        let path = dir.join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    };
    let chart = yaml(&read("Chart.yaml"), "Chart.yaml");
    let mut values = yaml(&read("values.yaml"), "values.yaml");
    for over in overrides {
        deep_merge(&mut values, &yaml(&read(over), over));
    }
    let context = serde_json::json!({
        "Values": values,
        "Release": {
            "Name": RELEASE,
            "Namespace": "identity",
            "Service": "Helm",
            "Revision": 1,
            "IsInstall": true,
            "IsUpgrade": false,
        },
        "Chart": {
            "Name": chart["name"],
            "Version": chart["version"],
            "AppVersion": chart["appVersion"],
        },
    });
    let context = gtmpl::Context::from(to_gtmpl(&context));

    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("templates"))
        .expect("templates folder")
        .map(|e| e.expect("template entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the chart has no templates");

    let mut outputs = Vec::new();
    let mut manifests = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("template text");
        let mut template = gtmpl::Template::with_name(file.clone());
        template
            .parse(text.as_str())
            .unwrap_or_else(|e| panic!("{file} (values {overrides:?}): does not parse: {e}"));
        let out = template
            .render(&context)
            .unwrap_or_else(|e| panic!("{file} (values {overrides:?}): does not render: {e}"));
        assert!(
            !out.contains("<no value>"),
            "{file} (values {overrides:?}) uses a value that does not exist:\n{out}"
        );
        if file.ends_with(".yaml") {
            for doc in yaml_docs(&out, &file) {
                let kind = str_at(&doc, "/kind").to_string();
                let name = str_at(&doc, "/metadata/name").to_string();
                assert!(
                    !str_at(&doc, "/apiVersion").is_empty() && !kind.is_empty() && !name.is_empty(),
                    "{file}: a document without apiVersion, kind or metadata.name:\n{doc:#}"
                );
                manifests.push(Manifest {
                    template: file.clone(),
                    kind,
                    name,
                    doc,
                });
            }
        } else {
            assert_eq!(file, "NOTES.txt", "unexpected file in templates/: {file}");
        }
        outputs.push((file, out));
    }
    Rendered {
        values,
        outputs,
        manifests,
    }
}

impl Rendered {
    pub fn of_kind(&self, kind: &str) -> Vec<&Manifest> {
        self.manifests.iter().filter(|m| m.kind == kind).collect()
    }

    pub fn find(&self, kind: &str, name: &str) -> Option<&Manifest> {
        self.manifests
            .iter()
            .find(|m| m.kind == kind && m.name == name)
    }

    pub fn get(&self, kind: &str, name: &str) -> &Manifest {
        self.find(kind, name).unwrap_or_else(|| {
            let have: Vec<String> = self
                .manifests
                .iter()
                .map(|m| format!("{}/{}", m.kind, m.name))
                .collect();
            panic!("no {kind} named {name}; rendered: {have:?}")
        })
    }

    /// The rendered object a `*Ref` names, if the chart renders it.
    pub fn data_keys(&self, kind: &str, name: &str) -> Option<Vec<String>> {
        let m = self.find(kind, name)?;
        let mut keys = Vec::new();
        for field in ["/data", "/stringData"] {
            if let Some(map) = m.doc.pointer(field).and_then(Value::as_object) {
                keys.extend(map.keys().cloned());
            }
        }
        Some(keys)
    }
}

/// The string at a JSON pointer, or "" when absent.
pub fn str_at<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The array at a JSON pointer, or an empty one when absent.
pub fn array_at<'a>(doc: &'a Value, pointer: &str) -> &'a [Value] {
    doc.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The map at a JSON pointer, or an empty one when absent.
pub fn map_at(doc: &Value, pointer: &str) -> Map<String, Value> {
    doc.pointer(pointer)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// A scalar as text (numbers and booleans too), as a container sees an env value.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
