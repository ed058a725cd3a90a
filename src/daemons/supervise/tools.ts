/** The supervise server's two tools, as the MCP SDK registers them (their definitions: ./tool-defs.ts). */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { CallLog, SuperviseTool } from './calls.ts';
import { MAX_ARGUMENT_CHARS, type ReviewHandler, SUPERVISE_TOOLS, type ToolDef } from './tool-defs.ts';

const text = (description: string) => z.string().max(MAX_ARGUMENT_CHARS).describe(description);
const describe = (tool: SuperviseTool, key: string): string => SUPERVISE_TOOLS.find((t) => t.name === tool)?.inputSchema.properties[key]?.description ?? '';

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
