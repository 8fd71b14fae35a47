import { z } from 'zod';

/**
 * The backend-neutral chat transcript an insight stores (`photo_insights.transcript`, JSON). Images
 * are sent to the model but never stored: the first user message says which photo it was.
 */
export const toolCallSchema = z.object({
  id: z.string(),
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});
export type ToolCall = z.infer<typeof toolCallSchema>;

export const chatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({
    role: z.literal('user'),
    content: z.string(),
    /** Base64 images sent with this message (never stored). */
    images: z.array(z.string()).optional(),
  }),
  z.object({
    role: z.literal('assistant'),
    content: z.string(),
    tool_calls: z.array(toolCallSchema).optional(),
  }),
  z.object({
    role: z.literal('tool'),
    tool_call_id: z.string(),
    name: z.string(),
    content: z.string(),
  }),
]);
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const transcriptSchema = z.array(chatMessageSchema);

/** Parse a stored transcript; an unreadable one is an empty chat (the row predates transcripts). */
export function parseTranscript(text: string | null): ChatMessage[] {
  if (!text) return [];
  try {
    const parsed = transcriptSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The transcript as stored: images dropped. */
export function serializeTranscript(messages: readonly ChatMessage[]): string {
  return JSON.stringify(
    messages.map((m) => {
      if (m.role === 'user' && m.images) {
        const { images: _images, ...rest } = m;
        return rest;
      }
      return m;
    }),
  );
}
