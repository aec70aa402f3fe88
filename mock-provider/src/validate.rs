//! Validation of request fields, by type and range, in each provider's error shape and
//! wording: OpenAI's (`Invalid 'temperature': decimal above maximum value. Expected a value
//! <= 2, but got 5 instead.`, with `param` and `code`) and Anthropic's pydantic-style
//! (`temperature: Input should be less than or equal to 1`). The body is checked as JSON
//! before it is read into the endpoint's typed request, so every documented field gets a
//! 400 that names it rather than a generic parse error.

use crate::error::{ApiError, Shape};
use crate::window::Window;
use burnrate_sim::{ModelSpec, ServiceTier};
use serde_json::{Map, Value};

/// What a field must be.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Bool,
    Str,
    Object,
    Array,
    /// A number in [min, max].
    Number(f64, f64),
    /// An integer in [min, max].
    Integer(i64, i64),
    /// A string or an array of at most this many strings.
    StringOrStrings(usize),
    /// A string or an array.
    StringOrArray,
    /// A string or an object.
    StringOrObject,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "decimal",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A 400 for `field` with `message` in the provider's wording (param and code for OpenAI).
fn reject(
    shape: Shape,
    field: &str,
    openai: String,
    anthropic: String,
    code: &'static str,
) -> ApiError {
    match shape {
        Shape::OpenAi | Shape::Gemini => ApiError::bad_request(shape, openai)
            .with_code(code)
            .with_param(field),
        Shape::Anthropic => ApiError::bad_request(shape, format!("{field}: {anthropic}")),
    }
}

fn wrong_type(shape: Shape, field: &str, expected: &str, got: &Value) -> ApiError {
    let (a, an) = match expected {
        "a boolean" => ("a boolean", "Input should be a valid boolean"),
        "a string" => ("a string", "Input should be a valid string"),
        "an object" => ("an object", "Input should be a valid dictionary"),
        "an array" => ("an array", "Input should be a valid list"),
        "a decimal" => ("a decimal", "Input should be a valid number"),
        "an integer" => ("an integer", "Input should be a valid integer"),
        other => (other, "Input should be a valid string or list"),
    };
    reject(
        shape,
        field,
        format!(
            "Invalid type for '{field}': expected {a}, but got {} instead.",
            match type_name(got) {
                "integer" => "an integer",
                "array" => "an array",
                "object" => "an object",
                "boolean" => "a boolean",
                "decimal" => "a decimal",
                "null" => "null",
                _ => "a string",
            }
        ),
        an.to_string(),
        "invalid_type",
    )
}

fn range(shape: Shape, field: &str, v: f64, min: f64, max: f64, integer: bool) -> ApiError {
    let kind = if integer { "integer" } else { "decimal" };
    if v < min {
        reject(
            shape,
            field,
            format!(
                "Invalid '{field}': {kind} below minimum value. Expected a value >= {min}, but got {v} instead."
            ),
            format!("Input should be greater than or equal to {min}"),
            if integer {
                "integer_below_min_value"
            } else {
                "decimal_below_min_value"
            },
        )
    } else {
        let _ = max;
        reject(
            shape,
            field,
            format!(
                "Invalid '{field}': {kind} above maximum value. Expected a value <= {max}, but got {v} instead."
            ),
            format!("Input should be less than or equal to {max}"),
            if integer {
                "integer_above_max_value"
            } else {
                "decimal_above_max_value"
            },
        )
    }
}

/// Checks one field's value against its rule; `null` counts as absent.
pub fn check(shape: Shape, field: &str, v: &Value, rule: Rule) -> Result<(), ApiError> {
    if v.is_null() {
        return Ok(());
    }
    match rule {
        Rule::Bool if !v.is_boolean() => Err(wrong_type(shape, field, "a boolean", v)),
        Rule::Str if !v.is_string() => Err(wrong_type(shape, field, "a string", v)),
        Rule::Object if !v.is_object() => Err(wrong_type(shape, field, "an object", v)),
        Rule::Array if !v.is_array() => Err(wrong_type(shape, field, "an array", v)),
        Rule::StringOrArray if !(v.is_string() || v.is_array()) => {
            Err(wrong_type(shape, field, "a string or an array", v))
        }
        Rule::StringOrObject if !(v.is_string() || v.is_object()) => {
            Err(wrong_type(shape, field, "a string or an object", v))
        }
        Rule::Number(min, max) => match v.as_f64() {
            None => Err(wrong_type(shape, field, "a decimal", v)),
            Some(x) if !(min..=max).contains(&x) => Err(range(shape, field, x, min, max, false)),
            Some(_) => Ok(()),
        },
        Rule::Integer(min, max) => {
            let x = match (v.as_i64(), v.as_u64()) {
                (Some(i), _) => i as f64,
                (None, Some(u)) => u as f64,
                _ => return Err(wrong_type(shape, field, "an integer", v)),
            };
            if x < min as f64 || x > max as f64 {
                Err(range(shape, field, x, min as f64, max as f64, true))
            } else {
                Ok(())
            }
        }
        Rule::StringOrStrings(n) => match v {
            Value::String(_) => Ok(()),
            Value::Array(items) => {
                if items.len() > n {
                    return Err(reject(
                        shape,
                        field,
                        format!(
                            "Invalid '{field}': array too long. Expected an array with maximum length {n}, but got an array with length {} instead.",
                            items.len()
                        ),
                        format!(
                            "List should have at most {n} items after validation, not {}",
                            items.len()
                        ),
                        "array_above_max_length",
                    ));
                }
                for (i, s) in items.iter().enumerate() {
                    if !s.is_string() {
                        return Err(wrong_type(shape, &index(shape, field, i), "a string", s));
                    }
                }
                Ok(())
            }
            _ => Err(wrong_type(shape, field, "a string or an array", v)),
        },
        _ => Ok(()),
    }
}

/// `field[i]` (OpenAI) or `field.i` (Anthropic).
pub fn index(shape: Shape, field: &str, i: usize) -> String {
    match shape {
        Shape::OpenAi | Shape::Gemini => format!("{field}[{i}]"),
        Shape::Anthropic => format!("{field}.{i}"),
    }
}

/// Checks each named field of an object that is present.
pub fn fields(
    shape: Shape,
    obj: &Map<String, Value>,
    rules: &[(&str, Rule)],
) -> Result<(), ApiError> {
    for (name, rule) in rules {
        if let Some(v) = obj.get(*name) {
            check(shape, name, v, *rule)?;
        }
    }
    Ok(())
}

/// A required field is missing.
pub fn missing(shape: Shape, field: &str) -> ApiError {
    reject(
        shape,
        field,
        format!("Missing required parameter: '{field}'."),
        "Field required".to_string(),
        "missing_required_parameter",
    )
}

/// The body must be a JSON object.
pub fn object(shape: Shape, v: &Value) -> Result<&Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| {
        ApiError::bad_request(
            shape,
            match shape {
                Shape::OpenAi | Shape::Gemini => "Invalid body: expected a JSON object.",
                Shape::Anthropic => "Input should be a valid dictionary",
            },
        )
    })
}

/// `role` of message `i` must be one of `allowed`.
pub fn role(shape: Shape, i: usize, m: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    let field = match shape {
        Shape::OpenAi | Shape::Gemini => format!("messages[{i}].role"),
        Shape::Anthropic => format!("messages.{i}.role"),
    };
    let Some(m) = m.as_object() else {
        return Err(wrong_type(
            shape,
            &index(shape, "messages", i),
            "an object",
            m,
        ));
    };
    let Some(r) = m.get("role") else {
        return Err(missing(shape, &field));
    };
    let Some(r) = r.as_str() else {
        return Err(wrong_type(shape, &field, "a string", r));
    };
    if allowed.contains(&r) {
        return Ok(());
    }
    let list = |sep: &str, last: &str| {
        let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
        match quoted.split_last() {
            Some((l, rest)) if !rest.is_empty() => format!("{}{last}{l}", rest.join(sep)),
            _ => quoted.join(sep),
        }
    };
    Err(reject(
        shape,
        &field,
        format!(
            "Invalid value: '{r}'. Supported values are: {}.",
            list(", ", ", and ")
        ),
        format!("Input should be {}", list(", ", " or ")),
        "invalid_value",
    ))
}

/// Each tool must be an object (with the name where the provider wants it).
pub fn tools(shape: Shape, tools: &Value, nested: bool) -> Result<(), ApiError> {
    let Some(items) = tools.as_array() else {
        return check(shape, "tools", tools, Rule::Array);
    };
    for (i, t) in items.iter().enumerate() {
        let field = index(shape, "tools", i);
        let Some(o) = t.as_object() else {
            return Err(wrong_type(shape, &field, "an object", t));
        };
        let named = if nested {
            match o.get("type").and_then(Value::as_str) {
                Some("function") => o
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .is_some_and(Value::is_string),
                // Built-in tools (web search and the like) carry no function.
                Some(_) => true,
                None => false,
            }
        } else {
            o.get("name").is_some_and(Value::is_string)
                || o.get("type")
                    .is_some_and(|t| t != "function" && t != "custom")
        };
        if !named {
            let name_field = if nested && o.get("type").is_some() {
                format!("{field}.function.name")
            } else if nested {
                format!("{field}.type")
            } else {
                format!("{field}.name")
            };
            return Err(missing(shape, &name_field));
        }
    }
    Ok(())
}

/// The requested output must fit the model's output limit.
pub fn max_output(
    shape: Shape,
    field: &str,
    requested: u64,
    model: &str,
    window: Window,
) -> Result<(), ApiError> {
    if requested <= window.max_output_tokens {
        return Ok(());
    }
    let max = window.max_output_tokens;
    Err(reject(
        shape,
        field,
        format!(
            "{field} is too large: {requested}. This model supports at most {max} completion tokens, whereas you provided {requested}."
        ),
        format!(
            "{requested} > {max}, which is the maximum allowed number of output tokens for {model}"
        ),
        "invalid_value",
    ))
}

/// The prompt (and the output asked for) must fit the model's context window.
pub fn context(shape: Shape, prompt: u64, output: u64, window: Window) -> Result<(), ApiError> {
    let input_max = window.input_tokens;
    let max = window.context_tokens;
    let msg = match shape {
        // Google's wording (ai.google.dev/gemini-api/docs/troubleshooting: 400 INVALID_ARGUMENT).
        Shape::Gemini if prompt > input_max || prompt + output > max => format!(
            "The input token count ({prompt}) exceeds the maximum number of tokens allowed ({input_max})."
        ),
        Shape::OpenAi if prompt > input_max => format!(
            "This model's maximum context length is {input_max} tokens. However, your messages resulted in {prompt} tokens. Please reduce the length of the messages."
        ),
        Shape::OpenAi if prompt + output > max => format!(
            "This model's maximum context length is {max} tokens. However, you requested {} tokens ({prompt} in the messages, {output} in the completion). Please reduce the length of the messages or completion.",
            prompt + output
        ),
        Shape::Anthropic if prompt > input_max => {
            format!("prompt is too long: {prompt} tokens > {input_max} maximum")
        }
        Shape::Anthropic if prompt + output > max => format!(
            "input length and `max_tokens` exceed context limit: {prompt} + {output} > {max}, decrease input length or `max_tokens` and try again"
        ),
        _ => return Ok(()),
    };
    let e = ApiError::bad_request(shape, msg);
    Err(match shape {
        Shape::OpenAi | Shape::Gemini => e
            .with_code("context_length_exceeded")
            .with_param("messages"),
        Shape::Anthropic => e,
    })
}

/// `service_tier` values of OpenAI's spec (`ServiceTier`, August 2026).
const OPENAI_TIERS: &[&str] = &["auto", "default", "flex", "scale", "priority", "fast"];

/// The service tier of an OpenAI request: the price list it is billed from and the value the
/// response reports. `auto`, `default` and `scale` (a project's reserved units, billed apart)
/// run at the standard tier and report `default`; `fast` is `priority` (OpenAI reports
/// `priority` for both). A tier the model does not offer is a 400 naming what it offers.
pub fn openai_tier(
    shape: Shape,
    v: Option<&Value>,
    spec: &ModelSpec,
) -> Result<(ServiceTier, &'static str), ApiError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok((ServiceTier::Standard, "default"));
    };
    check(shape, "service_tier", v, Rule::Str)?;
    let asked = v.as_str().unwrap_or_default();
    let (tier, echo) = match asked {
        "auto" | "default" | "scale" => (ServiceTier::Standard, "default"),
        "flex" => (ServiceTier::Flex, "flex"),
        "priority" | "fast" => (ServiceTier::Priority, "priority"),
        other => {
            return Err(enum_error(shape, "service_tier", other, OPENAI_TIERS));
        }
    };
    if tier != ServiceTier::Standard && spec.offers_tier(tier).is_err() {
        let mut offered = vec!["auto", "default"];
        for (t, name) in [
            (ServiceTier::Flex, "flex"),
            (ServiceTier::Priority, "priority"),
        ] {
            if spec.offers_tier(t).is_ok() {
                offered.push(name);
            }
        }
        return Err(reject(
            shape,
            "service_tier",
            format!(
                "Invalid value for 'service_tier': the model `{}` does not support the '{asked}' service tier. Supported values for this model are: {}.",
                spec.id,
                offered.join(", ")
            ),
            String::new(),
            "invalid_value",
        ));
    }
    Ok((tier, echo))
}

/// `service_tier` of an Anthropic request (`auto` or `standard_only`): both run at the standard
/// tier here (priority capacity is a commitment the mock does not model).
pub fn anthropic_tier(shape: Shape, v: Option<&Value>) -> Result<ServiceTier, ApiError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(ServiceTier::Standard);
    };
    check(shape, "service_tier", v, Rule::Str)?;
    match v.as_str().unwrap_or_default() {
        "auto" | "standard_only" => Ok(ServiceTier::Standard),
        other => Err(enum_error(
            shape,
            "service_tier",
            other,
            &["auto", "standard_only"],
        )),
    }
}

/// A string outside its enum, in the provider's wording.
pub fn enum_error(shape: Shape, field: &str, got: &str, allowed: &[&str]) -> ApiError {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    let (openai, anthropic) = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => (
            format!("{}, and {last}", rest.join(", ")),
            format!("{} or {last}", rest.join(", ")),
        ),
        _ => (quoted.join(", "), quoted.join(", ")),
    };
    reject(
        shape,
        field,
        format!("Invalid value: '{got}'. Supported values are: {openai}."),
        format!("Input should be {anthropic}"),
        "invalid_value",
    )
}
