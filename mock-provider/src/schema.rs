//! Generates JSON values that validate against a JSON schema (the subset tools and structured
//! outputs use: type, properties/required, items/minItems/maxItems, enum, const, anyOf/oneOf/
//! allOf, local `$ref` into `$defs`/`definitions`, string length and formats, numeric bounds).

//!
//! Hostile schemas stay cheap: nesting stops at a depth limit (recursive `$ref`s end in
//! `null`), and every value spends from a byte budget (strings their length, other values a
//! few bytes); once it is spent, objects are empty, arrays hold nothing and strings are short,
//! so the output's size is bounded by the budget whatever the schema says.

use rand::Rng;
use serde_json::{Map, Value, json};

/// How much one generation may produce.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Deepest nesting of objects, arrays and `$ref`s followed.
    pub max_depth: usize,
    /// Approximate bytes of JSON text the value may take.
    pub max_bytes: usize,
}

/// A value conforming to `schema` as far as the budget allows, drawn from `rng`; `$ref`s
/// resolve against `schema` itself.
pub fn generate<R: Rng + ?Sized>(schema: &Value, rng: &mut R, budget: Budget) -> Value {
    let mut g = Gen {
        root: schema,
        left: budget.max_bytes,
        max_depth: budget.max_depth,
    };
    g.value(schema, rng, 0)
}

/// Longest string the generator pads to (`minLength` beyond it is not honoured).
const MAX_STRING: usize = 4096;
/// Most items one array gets.
const MAX_ITEMS: u64 = 64;

struct Gen<'a> {
    root: &'a Value,
    left: usize,
    max_depth: usize,
}

impl Gen<'_> {
    fn spend(&mut self, n: usize) -> bool {
        if self.left < n {
            self.left = 0;
            return false;
        }
        self.left -= n;
        true
    }

    fn value<R: Rng + ?Sized>(&mut self, schema: &Value, rng: &mut R, depth: usize) -> Value {
        if depth > self.max_depth || !self.spend(4) {
            return Value::Null;
        }
        let v = gen_inner(self, schema, rng, depth);
        if let Value::String(s) = &v {
            self.spend(s.len());
        }
        v
    }
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let path = reference.strip_prefix("#")?;
    if path.is_empty() {
        return Some(root);
    }
    root.pointer(path)
}

fn word<R: Rng + ?Sized>(rng: &mut R) -> &'static str {
    let v = crate::tokens::vocabulary();
    v[rng.random_range(0..v.len())]
}

fn gen_string<R: Rng + ?Sized>(schema: &Value, rng: &mut R) -> Value {
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    let s = match format {
        "date-time" => "2026-01-15T12:00:00Z".to_string(),
        "date" => "2026-01-15".to_string(),
        "time" => "12:00:00".to_string(),
        "email" => format!("{}@example.com", word(rng)),
        "uri" | "url" => format!("https://example.com/{}", word(rng)),
        "uuid" => format!(
            "{:08x}-0000-4000-8000-{:012x}",
            rng.random::<u32>(),
            rng.random::<u64>() & 0xffff_ffff_ffff
        ),
        "ipv4" => "192.0.2.1".to_string(),
        _ => {
            let n = rng.random_range(1..=3);
            (0..n).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
        }
    };
    let min = schema
        .get("minLength")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(MAX_STRING as u64) as usize;
    let max = schema
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m.min(MAX_STRING as u64) as usize);
    let mut s = s;
    let chars = s.chars().count();
    if chars < min {
        s.extend(std::iter::repeat_n('x', min - chars));
    }
    if let Some(max) = max {
        s = s.chars().take(max).collect();
    }
    Value::String(s)
}

fn gen_number<R: Rng + ?Sized>(schema: &Value, rng: &mut R, integer: bool) -> Value {
    // Bounds are clamped to finite values a float can hold with room to spare, so that
    // neither `hi - lo` nor the rounding below overflows.
    const BIG: f64 = 1e300;
    let f = |k: &str| {
        schema
            .get(k)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
            .map(|x| x.clamp(-BIG, BIG))
    };
    let mut lo = f("minimum").unwrap_or(0.0);
    let mut hi = f("maximum").unwrap_or(lo.max(0.0) + 100.0);
    if let Some(x) = f("exclusiveMinimum") {
        lo = lo.max(x + if integer { 1.0 } else { 1e-6 });
    }
    if let Some(x) = f("exclusiveMaximum") {
        hi = hi.min(x - if integer { 1.0 } else { 1e-6 });
    }
    if hi < lo {
        hi = lo;
    }
    if integer {
        // `as` saturates: bounds beyond i64 become i64::MIN / i64::MAX.
        let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
        let v = if hi > lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        };
        if let Some(m) = schema
            .get("multipleOf")
            .and_then(Value::as_i64)
            .filter(|m| *m > 0)
        {
            let mut k = v / m * m;
            if k < lo {
                k = k.checked_add(m).unwrap_or(k);
            }
            return json!(k);
        }
        json!(v)
    } else {
        // A convex combination, finite even when `hi - lo` is not.
        let u: f64 = rng.random();
        let v = lo * (1.0 - u) + hi * u;
        let v = if v.abs() < 1e12 {
            (v * 100.0).round() / 100.0
        } else {
            v
        };
        json!(v.clamp(lo, hi))
    }
}

fn gen_inner<R: Rng + ?Sized>(g: &mut Gen, schema: &Value, rng: &mut R, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        // `true` or a missing schema: anything goes.
        return Value::String(word(rng).to_string());
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return match resolve(g.root, r) {
            Some(target) => g.value(target, rng, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(c) = obj.get("const") {
        return c.clone();
    }
    if let Some(options) = obj
        .get("enum")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        return options[rng.random_range(0..options.len())].clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = obj
            .get(key)
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            // Prefer a non-null branch so the value carries content.
            let non_null: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            let pick = if non_null.is_empty() {
                &options[0]
            } else {
                non_null[0]
            };
            return g.value(pick, rng, depth + 1);
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(o) = g.value(part, rng, depth + 1) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "string",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    if g.left == 0 {
                        break;
                    }
                    g.spend(name.len());
                    out.insert(name.clone(), g.value(sub, rng, depth + 1));
                }
            }
            if let Some(req) = obj.get("required").and_then(Value::as_array) {
                for name in req.iter().filter_map(Value::as_str) {
                    if !out.contains_key(name) {
                        out.insert(name.to_string(), Value::String(word(rng).to_string()));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let min = obj
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .min(MAX_ITEMS);
            let max = obj
                .get("maxItems")
                .and_then(Value::as_u64)
                .unwrap_or(min.max(3))
                .clamp(min, MAX_ITEMS);
            let n = rng.random_range(min..=max.min(min + 3));
            let item = obj.get("items").unwrap_or(&Value::Bool(true));
            let mut out = Vec::new();
            for _ in 0..n {
                if g.left == 0 {
                    break;
                }
                out.push(g.value(item, rng, depth + 1));
            }
            Value::Array(out)
        }
        "string" => gen_string(schema, rng),
        "integer" => gen_number(schema, rng, true),
        "number" => gen_number(schema, rng, false),
        "boolean" => Value::Bool(rng.random()),
        _ => Value::Null,
    }
}

/// Whether a JSON value looks like a JSON schema (not an example instance): an object with
/// `properties`, `$defs`/`definitions`, or a schema `type` beside a schema keyword.
fn schema_shaped(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    if o.get("properties").is_some_and(Value::is_object)
        || o.contains_key("$defs")
        || o.contains_key("definitions")
    {
        return true;
    }
    let typed = o.get("type").and_then(Value::as_str).is_some_and(|t| {
        matches!(
            t,
            "object" | "array" | "string" | "number" | "integer" | "boolean"
        )
    });
    typed
        && [
            "items", "enum", "anyOf", "oneOf", "allOf", "$ref", "required",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
}

/// Most `{` positions one text is parsed from, and most bytes looked at: a hostile prompt
/// costs at most this much.
const MAX_STARTS: usize = 256;
const MAX_SCAN_BYTES: usize = 1 << 20;

/// The last schema-shaped JSON object embedded in `text` (outermost objects only, as
/// instructor's `Mode.JSON` and LangChain's `json_mode` put a schema in the prompt).
fn last_schema_in(text: &str) -> Option<Value> {
    let mut end = text.len().min(MAX_SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let mut found = None;
    let mut at = 0;
    let mut starts = 0;
    while let Some(i) = text[at..].find('{') {
        starts += 1;
        if starts > MAX_STARTS {
            break;
        }
        let from = at + i;
        let mut it = serde_json::Deserializer::from_str(&text[from..]).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                if schema_shaped(&v) {
                    found = Some(v);
                }
                at = from + it.byte_offset();
            }
            _ => at = from + 1,
        }
    }
    found
}

/// The last schema-shaped JSON object in `texts` (the system and user messages in order).
pub fn last_schema<'a>(texts: impl DoubleEndedIterator<Item = &'a str>) -> Option<Value> {
    texts.rev().find_map(last_schema_in)
}

/// Nodes of a schema [`problems`] and [`recursive_ref`] look at, at most.
const MAX_NODES: usize = 10_000;

/// Constraints no value can meet (minimum above maximum, minLength above maxLength,
/// minItems above maxItems, an empty enum, a `$ref` that resolves nowhere): the generator
/// answers its best effort and the mock says so in a warning header.
pub fn problems(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(schema, String::from("#"))];
    let mut seen = 0;
    while let Some((node, path)) = stack.pop() {
        seen += 1;
        if seen > MAX_NODES || out.len() >= 8 {
            break;
        }
        let Some(o) = node.as_object() else { continue };
        for (lo, hi) in [
            ("minimum", "maximum"),
            ("exclusiveMinimum", "exclusiveMaximum"),
            ("minimum", "exclusiveMaximum"),
            ("exclusiveMinimum", "maximum"),
            ("minLength", "maxLength"),
            ("minItems", "maxItems"),
            ("minProperties", "maxProperties"),
        ] {
            let strict = lo.starts_with("exclusive") || hi.starts_with("exclusive");
            if let (Some(a), Some(b)) = (
                o.get(lo).and_then(Value::as_f64),
                o.get(hi).and_then(Value::as_f64),
            ) && (a > b || (strict && a >= b))
            {
                out.push(format!("{path}: {lo} {a} exceeds {hi} {b}"));
            }
        }
        if o.get("enum")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            out.push(format!("{path}: enum is empty"));
        }
        if let Some(r) = o.get("$ref").and_then(Value::as_str)
            && resolve(schema, r).is_none()
        {
            out.push(format!("{path}: $ref {r:?} does not resolve"));
        }
        for (k, v) in o {
            match v {
                Value::Object(_) => stack.push((v, format!("{path}/{k}"))),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate().filter(|(_, x)| x.is_object()) {
                        stack.push((item, format!("{path}/{k}/{i}")));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A `$ref` that reaches itself (a recursive schema), or one that points outside the schema:
/// what Anthropic's structured outputs do not support.
pub fn unsupported_ref(schema: &Value) -> Option<String> {
    fn walk<'a>(
        root: &'a Value,
        node: &'a Value,
        open: &mut Vec<&'a str>,
        seen: &mut usize,
    ) -> Option<String> {
        *seen += 1;
        if *seen > MAX_NODES {
            return None;
        }
        match node {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    if !r.starts_with('#') {
                        return Some(format!("external $ref {r:?}"));
                    }
                    if open.contains(&r) {
                        return Some(format!("recursive $ref {r:?}"));
                    }
                    if let Some(target) = resolve(root, r) {
                        open.push(r);
                        let found = walk(root, target, open, seen);
                        open.pop();
                        if found.is_some() {
                            return found;
                        }
                    }
                }
                o.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "$defs" | "definitions"))
                    .find_map(|(_, v)| walk(root, v, open, seen))
            }
            Value::Array(items) => items.iter().find_map(|v| walk(root, v, open, seen)),
            _ => None,
        }
    }
    walk(schema, schema, &mut Vec::new(), &mut 0)
}
