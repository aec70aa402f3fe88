// The Vercel AI SDK's generateObject on Anthropic against the mock (BURNRATE_MOCK_URL, set by
// tests/it/mock_frameworks.rs). @ai-sdk/anthropic sends the schema as
// `output_config.format` (Anthropic's structured outputs); the test asserts the typed object
// and the ledger's cost at claude-sonnet-4-6's 3.00 / 15.00 USD per MTok
// (https://platform.claude.com/docs/en/about-claude/pricing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateObject, streamObject } from 'ai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { z } from 'zod';

const base = process.env.BURNRATE_MOCK_URL;
if (!base) throw new Error('BURNRATE_MOCK_URL is not set: run through cargo test (scripts/test)');
const MODEL = 'claude-sonnet-4-6';

const City = z.object({
  name: z.string(),
  country: z.string(),
  population: z.number().int(),
  climate: z.enum(['arid', 'temperate', 'tropical']),
});

async function admin(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  return res.json();
}

async function reset() {
  await admin('PUT', '/_mock/config', { seed: 7, time_scale: 0 });
  await admin('POST', '/_mock/reset', {});
}

const anthropic = createAnthropic({ baseURL: base + '/v1', apiKey: 'sk-ant-test' });

test('generateObject on Anthropic', async () => {
  await reset();
  const { object, usage } = await generateObject({
    model: anthropic(MODEL),
    schema: City,
    prompt: 'Describe Lisbon.',
    maxRetries: 0,
  });
  assert.equal(City.parse(object).name.length > 0, true);
  const row = (await admin('GET', '/_mock/usage')).models[MODEL];
  assert.equal(row.requests, 1);
  assert.equal(row.input_tokens, usage.inputTokens);
  assert.equal(row.output_tokens, usage.outputTokens);
  assert.equal(row.cost_pusd, usage.inputTokens * 3_000_000 + usage.outputTokens * 15_000_000);
});

test('streamObject on Anthropic', async () => {
  await reset();
  const result = streamObject({
    model: anthropic(MODEL),
    schema: City,
    prompt: 'Describe Porto.',
    maxRetries: 0,
  });
  let partials = 0;
  for await (const _ of result.partialObjectStream) partials += 1;
  assert.ok(partials > 1, 'the object arrives in pieces');
  const object = await result.object;
  assert.ok(['arid', 'temperate', 'tropical'].includes(City.parse(object).climate));
  const usage = await result.usage;
  const row = (await admin('GET', '/_mock/usage')).models[MODEL];
  assert.equal(row.cost_pusd, usage.inputTokens * 3_000_000 + usage.outputTokens * 15_000_000);
});
