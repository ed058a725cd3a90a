import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { allText, DEFAULT_REPLY, listedSkills, offeredTools, startMessagesApiStandIn, systemText, toolResults } from './messages-api.ts';

/** A request shaped like claude-code 2.1's: system blocks, and the skills in a system-reminder of the first message. */
const claudeLike = {
  model: 'claude-x',
  stream: false,
  system: [
    { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.332;' },
    { type: 'text', text: 'You are Claude Code.' },
    { type: 'text', text: 'Base prompt.\n\nMY-PROMPT-MARKER' },
  ],
  messages: [
    {
      role: 'user',
      content: [
        {
          type: 'text',
          text: '<system-reminder>\nThe following skills are available for use with the Skill tool:\n\n- proof-skill: Use this for MY-SKILL-MARKER.\n- other: Another one.\n</system-reminder>',
        },
        { type: 'text', text: 'hello' },
      ],
    },
  ],
};

describe('Messages API stand-in', () => {
  it('answers POST /v1/messages as JSON and records the request', async () => {
    await using api = await startMessagesApiStandIn({ reply: 'pong' });
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${api.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'dummy' },
      body: JSON.stringify(claudeLike),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [{ type: 'text', text: 'pong' }],
      stop_reason: 'end_turn',
    });
    const [request] = api.messageRequests;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages', url: '/v1/messages?beta=true', json: claudeLike });
    expect(request?.headers['x-api-key']).toBe('dummy');
    if (!request) return;
    expect(systemText(request)).toContain('MY-PROMPT-MARKER');
    expect(systemText(request)).not.toContain('MY-SKILL-MARKER');
    expect(listedSkills(request)).toEqual([
      { name: 'proof-skill', description: 'Use this for MY-SKILL-MARKER.' },
      { name: 'other', description: 'Another one.' },
    ]);
    expect(allText(request.json)).toContain('MY-SKILL-MARKER');
  });

  it('streams server-sent events when asked, with the reply in one text delta', async () => {
    await using api = await startMessagesApiStandIn();
    const res = await fetch(`${api.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ ...claudeLike, stream: true }) });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text())
      .trim()
      .split('\n\n')
      .map((block) => {
        const [event, data] = block.split('\n');
        return { event: event?.replace('event: ', ''), data: JSON.parse(data?.replace('data: ', '') ?? '{}') as { type: string; delta?: { text?: string } } };
      });
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events.every((e) => e.event === e.data.type)).toBe(true);
    expect(events[2]?.data.delta?.text).toBe(DEFAULT_REPLY);
  });

  it('decodes gzip bodies; answers the connectivity probe and count_tokens; 404s the rest; a reply function sees the request', async () => {
    await using api = await startMessagesApiStandIn({ reply: (r) => `got ${r.headers['x-marker']}` });
    const res = await fetch(`${api.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', 'x-marker': 'm1' },
      body: gzipSync(JSON.stringify({ system: 'plain string system' })),
    });
    expect(((await res.json()) as { content: { text: string }[] }).content[0]?.text).toBe('got m1');
    expect(api.messageRequests[0] && systemText(api.messageRequests[0])).toBe('plain string system');
    expect((await fetch(`${api.url}/api/hello`, { method: 'HEAD' })).status).toBe(200);
    expect(await (await fetch(`${api.url}/v1/messages/count_tokens`, { method: 'POST', body: '{}' })).json()).toEqual({ input_tokens: 1 });
    const missing = await fetch(`${api.url}/v1/other`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/messages',
      'HEAD /api/hello',
      'POST /v1/messages/count_tokens',
      'GET /v1/other',
    ]);
    expect(api.messageRequests).toHaveLength(1);
  });

  it('closes idempotently; the port is free afterwards', async () => {
    const api = await startMessagesApiStandIn();
    await api.close();
    await api.close();
    await expect(fetch(`${api.url}/v1/messages`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it('answers a tool call when the reply asks for one (JSON and SSE), and reads tool results back', async () => {
    const tool = 'mcp__supervisor__report_progress';
    await using api = await startMessagesApiStandIn({
      reply: (request) => (toolResults(request).length ? { text: 'done' } : { toolUse: { name: tool, input: { summary: 'x' } } }),
    });
    const ask = (body: object) =>
      fetch(`${api.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const first = { model: 'm', tools: [{ name: tool, input_schema: {} }], messages: [{ role: 'user', content: 'go' }] };
    expect(await (await ask(first)).json()).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: tool, input: { summary: 'x' } }] });
    expect(offeredTools(api.messageRequests[0]!)).toEqual([tool]);
    const sse = await (await ask({ ...first, stream: true })).text();
    expect(sse).toContain('"content_block":{"type":"tool_use"');
    expect(sse).toContain('"partial_json":"{\\"summary\\":\\"x\\"}"');
    expect(sse).toContain('"stop_reason":"tool_use"');
    const second = {
      ...first,
      messages: [
        ...first.messages,
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'Progress recorded.' }] }] },
      ],
    };
    expect(await (await ask(second)).json()).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'done' }] });
    expect(toolResults(api.messageRequests[2]!)).toEqual([{ toolUseId: 't1', text: 'Progress recorded.' }]);
  });
});
