/**
 * The supervise server's two tools as `tools/list` shows them, and the handler a supervisor gives
 * for reviews. Kept apart from the MCP SDK (./tools.ts registers them there): the public types
 * reach no SDK declaration, so a consumer's strict type-check needs neither DOM nor skipLibCheck.
 */
import type { SuperviseTool } from './calls.ts';

/** Each string argument is bounded: the body cap bounds a call, this bounds what is kept of it. */
export const MAX_ARGUMENT_CHARS = 16 * 1024;

export interface ToolDef {
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

export type ReviewHandler = (request: { summary: string; question?: string }) => string | Promise<string>;
