// A vitest reporter for scripts/test-durations.mjs: what each test file cost its worker, in ms (environment,
// harness, setup files, import, and its tests and hooks: a file's beforeAll that starts servers counts, which
// the JSON reporter's first-test-to-last-test span leaves out), written as JSON to AGW_DURATIONS_OUT.
import { writeFileSync } from 'node:fs'
import path from 'node:path'

export default class DurationsReporter {
  durations = {}

  onInit(vitest) {
    this.root = vitest.config.root
  }

  onTestModuleEnd(module) {
    const d = module.diagnostic()
    const ms =
      d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration
    this.durations[path.relative(this.root, module.moduleId).split(path.sep).join('/')] = ms
  }

  onTestRunEnd() {
    if (process.env.AGW_DURATIONS_OUT)
      writeFileSync(process.env.AGW_DURATIONS_OUT, JSON.stringify(this.durations))
  }
}
