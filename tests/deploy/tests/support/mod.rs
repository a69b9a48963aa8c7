//! Shared by the test binaries: YAML loading (with `<<` merge keys, as compose
//! reads them), the Helm chart renderer (Go text/template through `gtmpl`, with
//! `.Values`, `.Release` and `.Chart` as Helm provides them, and the few Helm
//! functions the chart uses, see [`HELM_FUNCS`]), and lookups in rendered manifests.

#![allow(dead_code)] // each test binary uses its own part

use std::cell::RefCell;
use std::io::Read;
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

/// Lays `over` onto `base` like `helm -f`: maps merge key by key, a `null` deletes
/// the key, anything else replaces.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                if v.is_null() {
                    base.remove(k);
                    continue;
                }
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

/// The namespace the tests install into (`.Release.Namespace`).
pub const NAMESPACE: &str = "identity";

/// What the cluster holds when the chart is rendered: nothing (a first install), or
/// the objects of an earlier release that `lookup` finds (an upgrade).
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Objects as the API server returns them (a Secret's values base64 under `data`).
    pub objects: Vec<Value>,
    /// `helm upgrade` of an installed release instead of `helm install`.
    pub upgrade: bool,
}

impl Cluster {
    /// An upgrade of a release whose objects are `objects`.
    pub fn upgrade(objects: Vec<Value>) -> Self {
        Cluster {
            objects,
            upgrade: true,
        }
    }
}

/// Renders every template of the chart with values.yaml and then each override file
/// (paths relative to the chart) laid on top, as `helm install -f ...` would on an
/// empty cluster.
pub fn render_chart(overrides: &[&str]) -> Rendered {
    render_chart_with(overrides, &Value::Null, &Cluster::default())
}

/// [`render_chart`] with the values `set` (a map, as a further `-f` file) laid on top
/// of the files, against a cluster holding `cluster`'s objects (what `lookup` sees).
pub fn render_chart_with(overrides: &[&str], set: &Value, cluster: &Cluster) -> Rendered {
    try_render_chart(overrides, set, cluster).unwrap_or_else(|e| panic!("{e}"))
}

/// The chart rendered, or the first template's error (e.g. a `fail` call) as text.
/// Output that parses badly, or that uses a value that does not exist, still panics.
pub fn try_render_chart(
    overrides: &[&str],
    set: &Value,
    cluster: &Cluster,
) -> Result<Rendered, String> {
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
    if !set.is_null() {
        deep_merge(&mut values, set);
    }
    let context = serde_json::json!({
        "Values": values,
        "Release": {
            "Name": RELEASE,
            "Namespace": NAMESPACE,
            "Service": "Helm",
            "Revision": if cluster.upgrade { 2 } else { 1 },
            "IsInstall": !cluster.upgrade,
            "IsUpgrade": cluster.upgrade,
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

    let _live = LiveObjects::install(cluster.objects.clone());
    let mut outputs = Vec::new();
    let mut manifests = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("template text");
        let mut template = gtmpl::Template::with_name(file.clone());
        template.add_funcs(HELM_FUNCS);
        template
            .parse(text.as_str())
            .unwrap_or_else(|e| panic!("{file} (values {overrides:?}): does not parse: {e}"));
        let out = template
            .render(&context)
            .map_err(|e| format!("{file} (values {overrides:?}): does not render: {e}"))?;
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
    Ok(Rendered {
        values,
        outputs,
        manifests,
    })
}

/// The functions beyond Go's built-ins that the chart may call, each as Helm (with
/// Sprig) defines it. A template calling any other function fails to parse here, so
/// the chart stays renderable without Helm.
pub const HELM_FUNCS: &[(&str, gtmpl::Func)] = &[
    ("lookup", helm_lookup as gtmpl::Func),
    ("randAscii", helm_rand_ascii as gtmpl::Func),
    ("randAlphaNum", helm_rand_alpha_num as gtmpl::Func),
    ("b64enc", helm_b64enc as gtmpl::Func),
    ("fail", helm_fail as gtmpl::Func),
];

thread_local! {
    /// The objects `lookup` finds while this thread renders (gtmpl functions are plain
    /// `fn` pointers, so they cannot capture the cluster; each test renders on its own
    /// thread, and [`LiveObjects`] empties this again when the rendering ends).
    static LIVE: RefCell<Vec<Value>> = const { RefCell::new(Vec::new()) };
}

/// Holds the cluster's objects in [`LIVE`] for one rendering.
struct LiveObjects;

impl LiveObjects {
    fn install(objects: Vec<Value>) -> LiveObjects {
        LIVE.with(|live| *live.borrow_mut() = objects);
        LiveObjects
    }
}

impl Drop for LiveObjects {
    fn drop(&mut self) {
        LIVE.with(|live| live.borrow_mut().clear());
    }
}

fn string_arg(name: &str, args: &[gtmpl::Value], i: usize) -> Result<String, gtmpl::FuncError> {
    match args.get(i) {
        Some(gtmpl::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(gtmpl::FuncError::Generic(format!(
            "{name}: argument {i} is not a string: {other}"
        ))),
        None => Err(gtmpl::FuncError::AtLeastXArgs(name.into(), i + 1)),
    }
}

fn count_arg(name: &str, args: &[gtmpl::Value]) -> Result<usize, gtmpl::FuncError> {
    if args.len() != 1 {
        return Err(gtmpl::FuncError::ExactlyXArgs(name.into(), 1));
    }
    match &args[0] {
        gtmpl::Value::Number(n) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| gtmpl::FuncError::Generic(format!("{name}: {n} is not a count"))),
        other => Err(gtmpl::FuncError::Generic(format!(
            "{name}: {other} is not a count"
        ))),
    }
}

/// Helm's `lookup apiVersion kind namespace name`: the live object as a map, or an
/// empty map when there is none (as on a first install, or under `helm template`).
/// An empty name lists the kind: a map with `items`.
fn helm_lookup(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    if args.len() != 4 {
        return Err(gtmpl::FuncError::ExactlyXArgs("lookup".into(), 4));
    }
    let api_version = string_arg("lookup", args, 0)?;
    let kind = string_arg("lookup", args, 1)?;
    let namespace = string_arg("lookup", args, 2)?;
    let name = string_arg("lookup", args, 3)?;
    let found: Vec<Value> = LIVE.with(|live| {
        live.borrow()
            .iter()
            .filter(|o| {
                str_at(o, "/apiVersion") == api_version
                    && str_at(o, "/kind") == kind
                    && (namespace.is_empty() || str_at(o, "/metadata/namespace") == namespace)
                    && (name.is_empty() || str_at(o, "/metadata/name") == name)
            })
            .cloned()
            .collect()
    });
    Ok(match (name.is_empty(), found.first()) {
        (true, _) => to_gtmpl(&serde_json::json!({ "items": found })),
        (false, Some(object)) => to_gtmpl(object),
        (false, None) => gtmpl::Value::Map(Default::default()),
    })
}

/// `count` characters drawn uniformly from `alphabet`, from the OS's random source
/// (Sprig uses crypto/rand for these too).
fn random_string(alphabet: &[u8], count: usize) -> Result<String, gtmpl::FuncError> {
    let mut source = std::fs::File::open("/dev/urandom")
        .map_err(|e| gtmpl::FuncError::Generic(format!("/dev/urandom: {e}")))?;
    // Rejection sampling: only bytes below the largest multiple of the alphabet's size.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(count);
    let mut byte = [0u8; 1];
    while out.len() < count {
        source
            .read_exact(&mut byte)
            .map_err(|e| gtmpl::FuncError::Generic(format!("/dev/urandom: {e}")))?;
        if usize::from(byte[0]) < limit {
            out.push(char::from(alphabet[usize::from(byte[0]) % alphabet.len()]));
        }
    }
    Ok(out)
}

/// Sprig's `randAscii n`: n printable ASCII characters (codes 32 to 126).
fn helm_rand_ascii(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    let count = count_arg("randAscii", args)?;
    let alphabet: Vec<u8> = (32u8..=126).collect();
    random_string(&alphabet, count).map(gtmpl::Value::from)
}

/// Sprig's `randAlphaNum n`: n characters of `[A-Za-z0-9]`.
fn helm_rand_alpha_num(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    let count = count_arg("randAlphaNum", args)?;
    let alphabet: Vec<u8> = (b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .chain(b'0'..=b'9')
        .collect();
    random_string(&alphabet, count).map(gtmpl::Value::from)
}

/// Sprig's `b64enc s`: standard base64 with padding.
fn helm_b64enc(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    if args.len() != 1 {
        return Err(gtmpl::FuncError::ExactlyXArgs("b64enc".into(), 1));
    }
    // Sprig formats any value as text first; the chart only encodes strings.
    Ok(gtmpl::Value::from(b64encode(
        string_arg("b64enc", args, 0)?.as_bytes(),
    )))
}

/// Sprig's `fail message`: stops the rendering with that message.
fn helm_fail(args: &[gtmpl::Value]) -> Result<gtmpl::Value, gtmpl::FuncError> {
    Err(gtmpl::FuncError::Generic(string_arg("fail", args, 0)?))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 §4) with padding.
pub fn b64encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding, decoded; None when `text` is not exactly that.
pub fn b64decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, quad) in bytes.chunks(4).enumerate() {
        let last = index == bytes.len() / 4 - 1;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            let v = B64.iter().position(|&x| x == c)? as u32;
            n = (n << 6) | v;
        }
        n <<= 6 * pad as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Canonical only: the bits the padding drops are zero.
        if (pad == 1 && decoded[2] != 0) || (pad == 2 && decoded[1] != 0) {
            return None;
        }
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
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

    /// The value a container gets from key `key` of the rendered Secret `name`: from
    /// `stringData` as written, or from `data` base64-decoded (panics on bad base64 or
    /// UTF-8, which Kubernetes would refuse or a container would misread).
    pub fn secret_value(&self, name: &str, key: &str) -> Option<String> {
        let doc = &self.find("Secret", name)?.doc;
        if let Some(text) = doc.pointer(&format!("/stringData/{key}")) {
            return Some(scalar(text));
        }
        let encoded = doc.pointer(&format!("/data/{key}"))?.as_str()?;
        let bytes = b64decode(encoded)
            .unwrap_or_else(|| panic!("Secret {name}: {key} is not base64: {encoded:?}"));
        Some(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| panic!("Secret {name}: {key} is not UTF-8: {e}")),
        )
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
