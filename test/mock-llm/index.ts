export { held, whenAsked } from './asked.js'
export { installDemoScript } from './demo-script.js'
export { parseSse } from './parse-sse.js'
export { startMockLlm } from './server.js'
export type {
  MockLlm,
  RecordedRequest,
  Scenario,
  StartMockLlmOptions,
  Step,
  StepContext,
  StepFactory,
  StepSource,
  StepTiming,
} from './types.js'
