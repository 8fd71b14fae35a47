/**
 * Try AI insights by hand without a model: starts a scripted Ollama (the same protocol server the
 * tests use) that answers every chat by asking for the `reverse_geocode` tool once per turn, then
 * writing an answer from its result. Start it, point the api at it, and use curl.
 *
 *   node --import tsx scripts/insights-demo.ts            # prints the settings and the commands
 *
 * See docs/insights.md ("Try it without a model").
 */
import { startScriptedOllama } from '../packages/test-support/src/llm-servers.ts';

const ollama = await startScriptedOllama({
  models: [
    { name: 'llava:7b', capabilities: ['completion', 'vision', 'tools'] },
    { name: 'nomic-embed-text', capabilities: ['embedding'] },
  ],
});

interface Msg {
  role: string;
  content: string;
}

ollama.autoReply = (body) => {
  const messages = (body.messages ?? []) as Msg[];
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  const sinceUser = messages.slice(lastUser + 1);
  const tools = (body.tools ?? []) as unknown[];
  if (tools.length > 0 && !sinceUser.some((m) => m.role === 'tool')) {
    return { text: '', toolCalls: [{ name: 'reverse_geocode', arguments: {} }], delayMs: 200 };
  }
  let place = 'an unknown place';
  const tool = sinceUser.find((m) => m.role === 'tool');
  try {
    const result = JSON.parse(tool?.content ?? '{}') as { label?: string; error?: string };
    place = result.label ?? result.error ?? place;
  } catch {}
  const question = (messages[lastUser]?.content ?? '').split('\n')[0]!.slice(0, 80);
  return {
    text: `Near ${place}\n\nThis photo was taken near ${place}. (A scripted answer to: "${question}")`,
    chunkChars: 4,
    delayMs: 60,
  };
};

const { url } = ollama;
console.log(`Scripted Ollama listening at ${url} (Ctrl-C stops it)

Start Lumen with:
  OLLAMA_URL=${url} OLLAMA_MODEL=llava:7b pnpm start

Then, with a token from POST /login in $TOKEN and a photo with GPS in $PHOTO (a path in library main):
  curl -s -X POST localhost:8088/insights/generate/agentic -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d "{\\"path\\":\\"$PHOTO\\",\\"library\\":\\"main\\"}"
  curl -N -X POST localhost:8088/insights/chat/stream -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d "{\\"path\\":\\"$PHOTO\\",\\"library\\":\\"main\\",\\"message\\":\\"Where was this?\\"}"
  curl -s -X POST localhost:8088/insights/chat/rewind -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d "{\\"path\\":\\"$PHOTO\\",\\"library\\":\\"main\\"}"
  curl -s -X POST localhost:8088/insights/chat -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d "{\\"path\\":\\"$PHOTO\\",\\"library\\":\\"main\\",\\"message\\":\\"Make it shorter\\",\\"amend\\":true}"
  curl -s "localhost:8088/insights/chat/history?path=$PHOTO&library=main" -H "Authorization: Bearer $TOKEN"
`);

const stop = async () => {
  await ollama.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
