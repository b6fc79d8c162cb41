import { describe, expect, it } from 'vitest'
import { dockerModeArgs, dockerModeEnv } from '../../src/agents/cli/docker-mode.js'

/** Seed 001's Docker mode env, against its codex_serve.py (`_build_docker_env`, `_resolve_auto_model`). */
const config = {
  LITELLM_BASE_URL: 'http://litellm:4000',
  LITELLM_API_KEY: 'sk-server',
  MODEL_LIST: ['auto', 'gpt-litellm-1', 'gpt-litellm-2'],
}
const env = (args: string[], requestEnv?: Record<string, string>, modelList = config.MODEL_LIST) =>
  dockerModeEnv({ ...config, MODEL_LIST: modelList }, 'codex', args, requestEnv)

describe('Docker mode env (seed 001)', () => {
  it("the server's LiteLLM settings, the request's env over them, then CLI_PROVIDER_NAME, which a request cannot change", () => {
    expect(env([], { LITELLM_BASE_URL: 'http://other', CLI_PROVIDER_NAME: 'claude', X: '1' })).toEqual({
      LITELLM_BASE_URL: 'http://other',
      LITELLM_API_KEY: 'sk-server',
      X: '1',
      CLI_PROVIDER_NAME: 'codex',
    })
  })

  it("LITELLM_MODEL from the args' first --model, -m or --model=, trimmed; auto (any case) is MODEL_LIST's first other entry", () => {
    expect(env(['-m', 'a', '--model', 'b']).LITELLM_MODEL).toBe('a')
    expect(env(['--model=  spaced  ']).LITELLM_MODEL).toBe('spaced')
    expect(env(['--model', 'AUTO']).LITELLM_MODEL).toBe('gpt-litellm-1')
    // -mX is no model flag there; a flag without a value names none
    expect(env(['-mgpt-x']).LITELLM_MODEL).toBeUndefined()
    expect(env(['exec', '--model']).LITELLM_MODEL).toBeUndefined()
    // auto with no other entry: no model at all
    expect(env(['-m', 'auto'], {}, ['auto'])).not.toHaveProperty('LITELLM_MODEL')
  })

  it("the request's LITELLM_MODEL wins, resolved the same way; a blank one gives way to the args'", () => {
    expect(env(['-m', 'from-args'], { LITELLM_MODEL: ' from-env ' }).LITELLM_MODEL).toBe('from-env')
    expect(env(['-m', 'from-args'], { LITELLM_MODEL: 'auto' }).LITELLM_MODEL).toBe('gpt-litellm-1')
    expect(env(['-m', 'from-args'], { LITELLM_MODEL: '   ' }).LITELLM_MODEL).toBe('from-args')
    expect(env([], { LITELLM_MODEL: 'auto' }, ['auto'])).not.toHaveProperty('LITELLM_MODEL')
    // an empty one with nothing to infer stays as given
    expect(env([], { LITELLM_MODEL: '' }).LITELLM_MODEL).toBe('')
  })

  it('opencode gets its args without model flags (its image adds its own from LITELLM_MODEL); other CLIs as asked', () => {
    const args = ['run', '--model', 'm1', '-m', 'm2', '--model=m3', 'prompt']
    expect(dockerModeArgs('opencode', args)).toEqual(['run', 'prompt'])
    expect(dockerModeArgs('codex', args)).toBe(args)
    expect(dockerModeEnv(config, 'opencode', args).LITELLM_MODEL).toBe('m1')
  })
})
