-- Mixed requests for bench/soak.sh: OpenAI chat (JSON and streamed), Responses, embeddings,
-- Anthropic messages (JSON and streamed), in a fixed rotation. Faults come from the mock's
-- config. Each wrk thread sends LIMIT billable requests (env SOAK_PER_THREAD), then only
-- `GET /healthz` (not in the ledger) until soak.sh sees the ledger complete and stops wrk
-- with SIGINT. Stopping the threads instead would count requests generated but never written
-- (wrk's main thread sleeps for -d regardless). wrk sends a connection's next request only
-- after the previous reply, so every counted request has been written and answered by then.
-- done() prints the requests sent and the status mix of the billable ones.
local bodies = {
  {"/v1/chat/completions", '{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"soak test question"}]}', "openai"},
  {"/v1/chat/completions", '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"max_tokens":32,"messages":[{"role":"user","content":"stream please"}]}', "openai"},
  {"/v1/responses", '{"model":"gpt-4o","input":"a responses call","max_output_tokens":32}', "openai"},
  {"/v1/embeddings", '{"model":"text-embedding-3-small","input":["one","two"],"dimensions":8}', "openai"},
  {"/v1/messages", '{"model":"claude-haiku-4-5","max_tokens":48,"messages":[{"role":"user","content":"anthropic question"}]}', "anthropic"},
  {"/v1/messages", '{"model":"claude-haiku-4-5","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"anthropic stream"}]}', "anthropic"},
}
local threads = {}
local limit = tonumber(os.getenv("SOAK_PER_THREAD") or "1000")

function setup(thread)
  table.insert(threads, thread)
  -- wrk calls the first thread's request() once before any connection opens, to count the
  -- requests it pipelines (script_verify_request in wrk.c); that call is never sent, so it
  -- must not count as a billable request.
  thread:set("verifying", #threads == 1)
end

function init(args)
  sent = 0
  statuses = {}
  i = 0
end

function request()
  if verifying then
    verifying = false
    return wrk.format("GET", "/healthz")
  end
  if sent >= limit then
    return wrk.format("GET", "/healthz")
  end
  i = i % #bodies + 1
  local b = bodies[i]
  sent = sent + 1
  local headers = {["Content-Type"] = "application/json"}
  if b[3] == "anthropic" then headers["anthropic-version"] = "2023-06-01" end
  return wrk.format("POST", b[1], headers, b[2])
end

function response(status, headers, body)
  if body ~= '{"status":"ok"}' then
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  local mix = {}
  for _, t in ipairs(threads) do
    total = total + t:get("sent")
    for k, v in pairs(t:get("statuses")) do mix[k] = (mix[k] or 0) + v end
  end
  io.write(string.format("soak: requests sent %d\n", total))
  local keys = {}
  for k in pairs(mix) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do io.write(string.format("soak: status %d: %d\n", k, mix[k])) end
  io.write(string.format("soak: socket errors connect %d read %d write %d timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
