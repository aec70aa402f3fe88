//! What a reply says: text (lorem, echo or a fixture), tool calls with arguments generated from
//! the tool's JSON schema, or JSON conforming to a `response_format`; and how long it is.

use crate::config::{ContentMode, MockConfig, ModelEntry};
use crate::tokens;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::Value;
use std::borrow::Cow;

/// How the reply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
    ToolCalls,
}

/// A tool call of the reply.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub id_suffix: String,
    pub name: String,
    pub arguments: Value,
    pub arguments_text: String,
}

/// The reply.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Text pieces, one token each (or a few for multi-byte characters).
    pub pieces: Vec<Cow<'static, str>>,
    pub tool_calls: Vec<ToolCall>,
    pub output_tokens: u64,
    pub finish: Finish,
    /// The stop sequence the text ended at (`finish` is then `Stop`).
    pub stop_sequence: Option<String>,
    /// Reasoning (thinking) tokens before the reply, billed as output, not in `output_tokens`.
    pub reasoning_tokens: u64,
    /// The text of an Anthropic `thinking` block (one piece a token); empty for hidden
    /// reasoning.
    pub thinking: Vec<Cow<'static, str>>,
    /// Why the structured output is only a best effort (a schema no value satisfies), sent
    /// as the `x-mock-warning` header.
    pub warning: Option<String>,
    /// The request's output cap (`max_tokens` or the model's output limit): what the
    /// providers reserve against output and token limits when the request is admitted.
    pub output_cap: u64,
}

impl Plan {
    /// Puts the plan's warning, if any, on the response headers.
    pub fn warn(&self, headers: &mut axum::http::HeaderMap) {
        if let Some(w) = &self.warning
            && let Ok(v) = axum::http::HeaderValue::from_str(w)
        {
            headers.insert("x-mock-warning", v);
        }
    }

    fn empty() -> Plan {
        Plan {
            pieces: Vec::new(),
            tool_calls: Vec::new(),
            output_tokens: 0,
            finish: Finish::Stop,
            stop_sequence: None,
            reasoning_tokens: 0,
            thinking: Vec::new(),
            warning: None,
            output_cap: 0,
        }
    }

    pub fn text(&self) -> String {
        self.pieces.concat()
    }

    /// What `n` choices bill together: each choice's output and reasoning (no content).
    pub fn total(plans: &[Plan]) -> Plan {
        Plan {
            output_tokens: plans.iter().map(|p| p.output_tokens).sum(),
            reasoning_tokens: plans.iter().map(|p| p.reasoning_tokens).sum(),
            // OpenAI admits `n` choices as n x max_tokens (the cookbook's rate-limit
            // estimator, `api_request_parallel_processor.py`, counts it so).
            output_cap: plans.iter().map(|p| p.output_cap).sum(),
            ..Plan::empty()
        }
    }

    /// Every output token billed: the reply and the reasoning before it.
    pub fn billed_output(&self) -> u64 {
        self.output_tokens + self.reasoning_tokens
    }
}

/// The reasoning a request asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Reasoning {
    /// None (a model without reasoning, `reasoning_effort: "none"`, thinking disabled).
    #[default]
    Off,
    /// OpenAI reasoning models: hidden tokens, the model's `reasoning_tokens` draw times
    /// `scale` (from the effort).
    Hidden { scale: f64 },
    /// Anthropic extended thinking: the draw, at most `budget` tokens, shown as a block.
    Thinking { budget: u64 },
}

impl Reasoning {
    /// OpenAI `reasoning_effort` (chat) / `reasoning.effort` (Responses) on a model that
    /// reasons: the default draw is `medium`; each step halves or doubles it.
    pub fn effort(reasons: bool, effort: Option<&str>) -> Reasoning {
        if !reasons {
            return Reasoning::Off;
        }
        let scale = match effort.unwrap_or("medium") {
            "none" => return Reasoning::Off,
            "minimal" => 0.125,
            "low" => 0.5,
            "high" => 2.0,
            "xhigh" => 4.0,
            "max" => 8.0,
            _ => 1.0,
        };
        Reasoning::Hidden { scale }
    }
}

/// The tool calls already in the conversation, as the tool policy needs them.
#[derive(Debug, Default, Clone)]
pub struct ToolHistory {
    /// Names of the tools the assistant called anywhere in the conversation.
    pub called: Vec<String>,
    /// Assistant tool-call rounds since the last user text (the current turn).
    pub rounds: u64,
    /// Whether the last assistant item seen was a tool call (so the next one is the same
    /// round: parallel calls in one message or consecutive Responses items).
    in_round: bool,
}

impl ToolHistory {
    /// A user message with text: a new turn starts.
    pub fn user_turn(&mut self) {
        self.rounds = 0;
        self.in_round = false;
    }
    /// An assistant tool call; consecutive calls are one round.
    pub fn call(&mut self, name: &str) {
        if !self.in_round {
            self.rounds += 1;
            self.in_round = true;
        }
        if self.called.len() < 1024 && !self.called.iter().any(|c| c == name) {
            self.called.push(name.to_string());
        }
    }
    /// Anything that is not a tool call ends the round in progress.
    pub fn other(&mut self) {
        self.in_round = false;
    }
}

/// What the headers force (`x-mock-output-tokens`, `x-mock-reasoning-tokens`,
/// `x-mock-tool-rounds`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Forced {
    pub output: Option<u64>,
    pub reasoning: Option<u64>,
    pub tool_rounds: Option<u64>,
}

/// What the request asks for, in provider-neutral form.
#[derive(Debug, Default)]
pub struct Ask {
    pub last_user: String,
    /// `(name, JSON schema)` of each tool offered.
    pub tools: Vec<(String, Value)>,
    /// `Some(name)`: that tool must be called; `required`: some tool must.
    pub forced_tool: Option<String>,
    pub tool_required: bool,
    pub tools_disabled: bool,
    /// The last message is a tool result (fixtures answer it in text).
    pub after_tool_result: bool,
    /// Tool calls earlier in the conversation (the tool policy).
    pub history: ToolHistory,
    pub json_schema: Option<Value>,
    pub json_object: bool,
    pub max_tokens: Option<u64>,
    /// Stop sequences (`stop` / `stop_sequences`): the text ends before the first one.
    pub stop: Vec<String>,
    pub reasoning: Reasoning,
    /// Choices to answer (chat `n`; 0 means 1).
    pub choices: u64,
}

fn lorem(rng: &mut Pcg64Mcg, n: u64) -> Vec<Cow<'static, str>> {
    let mut pieces: Vec<Cow<'static, str>> = tokens::lorem_pieces(rng, n as usize)
        .into_iter()
        .map(Cow::Borrowed)
        .collect();
    if let Some(first) = pieces.first_mut() {
        *first = Cow::Borrowed(first_word(first));
    }
    pieces
}

fn first_word(piece: &str) -> &'static str {
    // Vocabulary words are one token with or without their leading space.
    let w = piece.trim_start();
    tokens::vocabulary()
        .iter()
        .copied()
        .find(|v| *v == w)
        .unwrap_or("the")
}

/// Plans the `ask.choices` replies of one request (at least one): the first on `seed`, each
/// other on its own seed.
pub fn plan_choices(
    cfg: &MockConfig,
    model: &ModelEntry,
    forced: Forced,
    ask: &Ask,
    seed: u64,
) -> Vec<Plan> {
    (0..ask.choices.max(1))
        .map(|i| {
            let s = if i == 0 {
                seed
            } else {
                crate::cache::mix(seed, i)
            };
            plan(cfg, model, forced, ask, s)
        })
        .collect()
}

/// Plans the reply of one request; `forced`: what the mock headers force.
pub fn plan(cfg: &MockConfig, model: &ModelEntry, forced: Forced, ask: &Ask, seed: u64) -> Plan {
    let forced_reasoning = forced.reasoning;
    // Without max_tokens, the model's own output limit; reasoning comes out of it first.
    let cap = ask.max_tokens.unwrap_or(model.window.max_output_tokens);
    let mut rng = Pcg64Mcg::seed_from_u64(crate::cache::mix(seed, 0x7ea5));
    let draw = |rng: &mut Pcg64Mcg, scale: f64| match forced_reasoning {
        Some(n) => n,
        None => (model.reasoning_tokens.sample(rng) * scale)
            .round()
            .clamp(0.0, 1e9) as u64,
    };
    let (reasoning, thinking) = match ask.reasoning {
        Reasoning::Off => (0, false),
        Reasoning::Hidden { scale } => (draw(&mut rng, scale), false),
        Reasoning::Thinking { budget } => (draw(&mut rng, 1.0).min(budget), true),
    };
    let reasoning = reasoning.min(cap);
    let mut plan = unstopped(cfg, model, forced, ask, seed, cap - reasoning);
    if reasoning > 0 && reasoning == cap {
        // The reasoning used the whole allowance: no reply, cut by the limit.
        plan.finish = Finish::Length;
    }
    if !ask.stop.is_empty() && plan.tool_calls.is_empty() {
        plan = stop_at(plan, &ask.stop);
    }
    plan.reasoning_tokens = reasoning;
    plan.output_cap = cap;
    if thinking {
        plan.thinking = lorem(&mut rng, reasoning);
    }
    plan
}

/// Ends a text reply before the earliest stop sequence in it, as providers do (the sequence
/// itself is not part of the reply, nor billed).
fn stop_at(plan: Plan, stops: &[String]) -> Plan {
    let text = plan.text();
    let Some((at, seq)) = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|i| (i, s)))
        .min_by_key(|(i, _)| *i)
    else {
        return plan;
    };
    let mut pieces = Vec::new();
    let mut end = 0;
    for piece in plan.pieces {
        if end + piece.len() <= at {
            end += piece.len();
            pieces.push(piece);
        } else {
            // A piece the stop sequence starts inside: its part before the sequence.
            let keep = &piece[..at - end];
            if !keep.is_empty() {
                pieces.push(Cow::Owned(keep.to_string()));
            }
            break;
        }
    }
    let kept: String = pieces.concat();
    Plan {
        output_tokens: tokens::count(&kept),
        pieces,
        tool_calls: Vec::new(),
        finish: Finish::Stop,
        stop_sequence: Some(seq.clone()),
        ..Plan::empty()
    }
}

/// The tool policy: which tool the reply calls, if any.
///
/// A named tool choice calls that tool. A required one (`required` / `any`) calls the first
/// offered tool the conversation has not called yet, so an agent's output tool (Pydantic AI's
/// `final_result`) is reached; once every tool was called, a seeded draw picks one. `auto`
/// calls a tool while the current turn has had fewer than `tool_rounds` tool rounds (model
/// config, `x-mock-tool-rounds`; default 1), then answers in text, as a model ends a loop.
fn pick_tool<'a>(
    model: &ModelEntry,
    forced: Forced,
    ask: &'a Ask,
    seed: u64,
) -> Option<&'a (String, Value)> {
    if ask.tools.is_empty() || ask.tools_disabled {
        return None;
    }
    if let Some(name) = &ask.forced_tool {
        return Some(
            ask.tools
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or(&ask.tools[0]),
        );
    }
    let limit = forced.tool_rounds.unwrap_or(model.tool_rounds);
    // A tool result without its call in the request (Responses `previous_response_id`) is
    // still a round.
    let rounds = ask.history.rounds.max(u64::from(ask.after_tool_result));
    if !ask.tool_required && rounds >= limit {
        return None;
    }
    let fresh = ask
        .tools
        .iter()
        .find(|(n, _)| !ask.history.called.contains(n));
    Some(fresh.unwrap_or_else(|| {
        let mut rng = Pcg64Mcg::seed_from_u64(crate::cache::mix(seed, 0x7001));
        &ask.tools[rand::Rng::random_range(&mut rng, 0..ask.tools.len())]
    }))
}

fn unstopped(
    cfg: &MockConfig,
    model: &ModelEntry,
    forced: Forced,
    ask: &Ask,
    seed: u64,
    cap: u64,
) -> Plan {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let wanted = forced
        .output
        .unwrap_or_else(|| model.output_tokens.sample(&mut rng).round().max(1.0) as u64)
        .min(1_000_000);

    // Fixtures first (they may answer with tool calls).
    if cfg.content == ContentMode::Fixtures
        && let Some(f) = cfg
            .fixtures
            .iter()
            .find(|f| ask.last_user.contains(&f.matches))
    {
        if !f.tool_calls.is_empty() && !ask.after_tool_result {
            let calls = f
                .tool_calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| ToolCall {
                    id_suffix: format!("{seed:016x}{i}"),
                    name: name.clone(),
                    arguments_text: args.to_string(),
                    arguments: args.clone(),
                })
                .collect::<Vec<_>>();
            let out = calls
                .iter()
                .map(|c| tokens::count(&c.name) + tokens::count(&c.arguments_text))
                .sum();
            return Plan {
                pieces: Vec::new(),
                tool_calls: calls,
                output_tokens: out,
                finish: Finish::ToolCalls,
                stop_sequence: None,
                ..Plan::empty()
            };
        }
        if let Some(text) = &f.text {
            return text_plan(text, cap);
        }
    }

    // Tool calls.
    if let Some(tool) = pick_tool(model, forced, ask, seed) {
        let args = crate::schema::generate(&tool.1, &mut rng, budget(cfg, cap));
        let args = if args.is_object() {
            args
        } else {
            serde_json::json!({})
        };
        let mut text = args.to_string();
        let name_tokens = tokens::count(&tool.0);
        let mut out = name_tokens + tokens::count(&text);
        let mut finish = Finish::ToolCalls;
        let mut arguments = args;
        if out > cap {
            // Cut off by max_tokens, like a model: the arguments text stops mid-way (and
            // so is not valid JSON); the parsed form is left empty.
            let room = cap.saturating_sub(name_tokens);
            let (pieces, used) = tokens::token_pieces(&text, room.min(usize::MAX as u64) as usize);
            text = pieces.concat();
            out = (name_tokens + used).min(cap);
            finish = Finish::Length;
            arguments = serde_json::json!({});
        }
        return Plan {
            pieces: Vec::new(),
            tool_calls: vec![ToolCall {
                id_suffix: format!("{seed:016x}0"),
                name: tool.0.clone(),
                arguments,
                arguments_text: text,
            }],
            output_tokens: out,
            finish,
            stop_sequence: None,
            ..Plan::empty()
        };
    }

    // Structured output.
    if let Some(schema) = &ask.json_schema {
        let v = crate::schema::generate(schema, &mut rng, budget(cfg, cap));
        let problems = crate::schema::problems(schema);
        let mut plan = text_plan(&v.to_string(), cap);
        if !problems.is_empty() {
            let text = format!("unsatisfiable schema, best effort: {}", problems.join("; "));
            // Header values are visible ASCII: anything else becomes '?'.
            let ascii = text.chars().take(500).map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            });
            plan.warning = Some(ascii.collect());
        }
        return plan;
    }
    if ask.json_object {
        let words = lorem(&mut rng, wanted.clamp(1, 64)).concat();
        return text_plan(&serde_json::json!({ "answer": words }).to_string(), cap);
    }

    if cfg.content == ContentMode::Echo && !ask.last_user.is_empty() {
        return text_plan(&ask.last_user, cap);
    }

    let n = wanted.min(cap);
    Plan {
        pieces: lorem(&mut rng, n),
        tool_calls: Vec::new(),
        output_tokens: n,
        finish: if wanted > cap {
            Finish::Length
        } else {
            Finish::Stop
        },
        stop_sequence: None,
        ..Plan::empty()
    }
}

/// What a schema may generate for a reply capped at `cap` tokens: a token is rarely more
/// than 8 bytes of JSON, and never more than 1 MiB whatever the cap.
fn budget(cfg: &MockConfig, cap: u64) -> crate::schema::Budget {
    crate::schema::Budget {
        max_depth: cfg.limits.tool_schema_max_depth,
        max_bytes: cap.saturating_mul(8).clamp(64, 1 << 20) as usize,
    }
}

fn text_plan(text: &str, cap: u64) -> Plan {
    let total = tokens::count(text);
    let (pieces, used) = tokens::token_pieces(text, cap.min(usize::MAX as u64) as usize);
    Plan {
        pieces: pieces.into_iter().map(Cow::Owned).collect(),
        tool_calls: Vec::new(),
        output_tokens: used,
        finish: if total > cap {
            Finish::Length
        } else {
            Finish::Stop
        },
        stop_sequence: None,
        ..Plan::empty()
    }
}
