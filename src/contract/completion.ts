import { z } from "zod";

/** What the result keeps of a chat answer, beside the archived files. */
export const Completion = z.object({
  content: z.string().nullable(),
  reasoningContent: z.string().optional(),
  finishReason: z.string().optional(),
  toolCalls: z.array(z.unknown()).optional(),
  usage: z.record(z.string(), z.unknown()).optional(),
});
export type Completion = z.infer<typeof Completion>;
