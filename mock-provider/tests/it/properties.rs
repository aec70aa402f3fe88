//! Property: the ledger is the sum of the answers. For random sequences of requests (either
//! provider, random reply lengths, prompts that do and do not hit the prompt cache, injected
//! errors), `/_mock/usage` equals what the answers themselves report, token for token, and its
//! cost equals the catalog price of those tokens (computed here with
//! `ModelSpec::cost_pusd`, independently of the mock), so it is never more or less than what
//! was answered.

use super::{call, call_raw, cfg};
use burnrate_sim::{CacheTtl, Catalog, TokenCounts};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Ask {
    anthropic: bool,
    prompt: usize,
    output: u32,
    fault: Option<&'static str>,
}

fn ask() -> impl Strategy<Value = Ask> {
    (
        any::<bool>(),
        prop::sample::select(vec![1usize, 50, 700]),
        0u32..300,
        prop::option::weighted(
            0.3,
            prop::sample::select(vec!["429", "500", "503", "529", "quota"]),
        ),
    )
        .prop_map(|(anthropic, prompt, output, fault)| Ask {
            anthropic,
            prompt,
            output,
            fault,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_is_the_sum_of_the_answers(asks in prop::collection::vec(ask(), 1..25)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let app = super::router(cfg("time_scale = 0.0"));
            let catalog = Catalog::builtin();
            let (mut ok, mut input, mut cached, mut written, mut output, mut cost) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
            for a in &asks {
                // A long shared prefix, so that repeated prompts hit the cache.
                let text = "cached prefix words ".repeat(a.prompt);
                let out = a.output.to_string();
                let mut headers = vec![("x-mock-output-tokens", out.as_str())];
                if let Some(f) = a.fault {
                    headers.push(("x-mock-fault", f));
                }
                let (model, status, v) = if a.anthropic {
                    let body = json!({"model": "claude-haiku-4-5", "max_tokens": 1000,
                        "system": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}],
                        "messages": [{"role": "user", "content": "q"}]});
                    let (s, _, v) = call(&app, "/v1/messages", body, &headers).await;
                    ("claude-haiku-4-5", s, v)
                } else {
                    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "system", "content": text}, {"role": "user", "content": "q"}]});
                    let (s, _, v) = call(&app, "/v1/chat/completions", body, &headers).await;
                    ("gpt-4o-mini", s, v)
                };
                if !status.is_success() {
                    continue;
                }
                ok += 1;
                let u = &v["usage"];
                let n = |x: &Value| x.as_u64().unwrap_or(0);
                let t = if a.anthropic {
                    TokenCounts { input: n(&u["input_tokens"]), cache_write: n(&u["cache_creation_input_tokens"]), cache_read: n(&u["cache_read_input_tokens"]), output: n(&u["output_tokens"]) }
                } else {
                    let c = n(&u["prompt_tokens_details"]["cached_tokens"]);
                    TokenCounts { input: n(&u["prompt_tokens"]) - c, cache_write: 0, cache_read: c, output: n(&u["completion_tokens"]) }
                };
                input += t.input;
                written += t.cache_write;
                cached += t.cache_read;
                output += t.output;
                cost += catalog.get(model).unwrap().cost_pusd(&t, CacheTtl::FiveMinutes, false).total();
            }
            let (_, _, usage) = call_raw(&app, "GET", "/_mock/usage", String::new(), &[]).await;
            let total = &usage["total"];
            prop_assert_eq!(total["requests"].as_u64(), Some(asks.len() as u64));
            prop_assert_eq!(total["succeeded"].as_u64(), Some(ok));
            prop_assert_eq!(total["input_tokens"].as_u64(), Some(input));
            prop_assert_eq!(total["cache_write_tokens"].as_u64(), Some(written));
            prop_assert_eq!(total["cache_read_tokens"].as_u64(), Some(cached));
            prop_assert_eq!(total["output_tokens"].as_u64(), Some(output));
            prop_assert_eq!(total["cost_pusd"].as_u64(), Some(cost));
            Ok(())
        })?;
    }
}
