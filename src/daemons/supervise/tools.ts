/** The supervise server's two tools, as the MCP SDK registers them and as `tools/list` shows them. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { CallLog, SuperviseTool } from './calls.ts';

/** Each string argument is bounded: the body cap bounds a call, this bounds what is kept of it. */
export const MAX_ARGUMENT_CHARS = 16 * 1024;

interface ToolDef {
  readonly name: SuperviseTool;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: {
    readonly type: 'object';
    readonly properties: Record<string, { type: 'string'; description: string }>;
    readonly required: readonly string[];
    readonly additionalProperties: false;
  };
}

/** The tools as JSON Schema (what `tools/list` answers), for readers that do not speak zod. */
export const SUPERVISE_TOOLS: readonly ToolDef[] = [
  {
    name: 'report_progress',
    title: 'Report progress',
    description: 'Tell your supervisor what you have done so far and what you are doing next. Call it at each milestone.',
    inputSchema: {
      type: 'object',
      properties: { summary: { type: 'string', description: 'One or two sentences: what is done, what is next.' } },
      required: ['summary'],
      additionalProperties: false,
    },
  },
  {
    name: 'request_review',
    title: 'Request review',
    description: 'Ask your supervisor to review your work, optionally with a specific question. Use it before irreversible steps.',
    inputSchema: {
      type: 'object',
      properties: {
        summary: { type: 'string', description: 'What is ready for review.' },
        question: { type: 'string', description: 'A specific question for the reviewer, if any.' },
      },
      required: ['summary'],
      additionalProperties: false,
    },
  },
];

const text = (description: string) => z.string().max(MAX_ARGUMENT_CHARS).describe(description);
const describe = (tool: SuperviseTool, key: string): string => SUPERVISE_TOOLS.find((t) => t.name === tool)?.inputSchema.properties[key]?.description ?? '';

export type ReviewHandler = (request: { summary: string; question?: string }) => string | Promise<string>;

/** Registers both tools on `server`; every valid call is recorded in `log` before it is answered. */
export function registerSuperviseTools(server: McpServer, log: CallLog, onReview: ReviewHandler | undefined): void {
  const [progress, review] = SUPERVISE_TOOLS as [ToolDef, ToolDef];
  server.registerTool(
    progress.name,
    { title: progress.title, description: progress.description, inputSchema: z.strictObject({ summary: text(describe('report_progress', 'summary')) }) },
    async ({ summary }) => {
      log.record({ tool: 'report_progress', arguments: { summary }, at: new Date() });
      return { content: [{ type: 'text', text: 'Progress recorded.' }], isError: false };
    },
  );
  server.registerTool(
    review.name,
    {
      title: review.title,
      description: review.description,
      inputSchema: z.strictObject({ summary: text(describe('request_review', 'summary')), question: text(describe('request_review', 'question')).optional() }),
    },
    async ({ summary, question }) => {
      const args = { summary, ...(question !== undefined ? { question } : {}) };
      log.record({ tool: 'request_review', arguments: args, at: new Date() });
      const answer = onReview ? await onReview(args) : 'Review requested; your supervisor has been told.';
      return { content: [{ type: 'text', text: answer }], isError: false };
    },
  );
}
