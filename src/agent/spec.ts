/**
 * The agent spec, as other modules have always imported it: the zod schema and its types
 * (./schema.ts), the limits (./limits.ts) and file loading (./load.ts).
 */
export {
  AgentNameSchema,
  type AgentSpec,
  type AgentSpecInput,
  AgentSpecSchema,
  EgressSpecSchema,
  GitSpecSchema,
  GuestUserSchema,
  parseAgentSpec,
  ROOT_USER,
  SkillNameSchema,
  SuperviseSpecSchema,
} from './schema.ts';
export { loadAgentFile, type LoadAgentFileOptions } from './load.ts';
export { MAX_AGENT_FILE_BYTES, MAX_PROMPT_BYTES } from './limits.ts';
