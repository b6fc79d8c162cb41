import { LocalProcessRunner } from '../../src/process/local-runner.js'
import { runnerContract } from '../contract/runner-contract.js'
import { processesUnder } from '../support/processes.js'

runnerContract('local process groups', {
  create: () => new LocalProcessRunner(),
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  leftovers: async (cwd) => processesUnder(cwd).map((p) => `${p.pid} ${p.cmd}`),
  escaped: 'when asked',
})
