import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { isLoopbackHost, loadConfig } from '../../src/config/load.js'
import { envSchema, settingDocs } from '../../src/config/schema.js'
import { defaultCommitLanes } from '../../src/store/postgres/postgres-store.js'
import { agentLineChars } from '../../src/util/agent-line.js'
import { maxImageBytesCeiling } from '../../src/util/image-type.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
function dir(): string {
  const d = tempDir('config-')
  dirs.push(d)
  return d
}

afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

/** loadConfig with an explicit env (never the test runner's) and an empty cwd without `.env`. */
function load(env: Record<string, string> = {}, cwd = dir()) {
  return loadConfig(env, cwd)
}

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    load(env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

describe('loadConfig defaults', () => {
  it('uses the documented defaults when nothing is set', () => {
    const c = load()
    expect(c.HOST).toBe('127.0.0.1')
    expect(c.PORT).toBe(8000)
    expect(c.CLI_LIST).toEqual(['codex'])
    expect(c.MODEL_LIST).toEqual(['auto'])
    expect(c.TIMEOUT_SECONDS).toBe(60)
    expect(c.CODEX_SANDBOX).toBe('read-only')
    expect(c.API_TOKENS).toEqual([])
    expect(c.RUN_RESPONSE_TIMEOUT_SECONDS).toBeNull()
    expect(c.RUN_ALLOW_UNSAFE_ARGS).toBe(false)
    expect(c.LOG_LEVEL).toBe('info')
    expect(c.CODEX_HOME).toBeUndefined()
    expect(c.CODEX_API_BASE_URL).toBeUndefined()
  })

  it("takes CLI_LIST and MODEL_LIST set empty as none, as seed 001's original did (unset: their default)", () => {
    // the original split them as set: `CLI_LIST=""` allowed no CLI, `MODEL_LIST=""` listed no model. Before, an
    // empty one was its default here: codex allowed, ["auto"] listed
    const c = load({ CLI_LIST: '  ', MODEL_LIST: '' })
    expect(c.CLI_LIST).toEqual([])
    expect(c.MODEL_LIST).toEqual([])
    expect(c.modelListConfigured).toBe(false)
  })
})

describe('comma-separated lists', () => {
  it('trims entries and drops empty ones', () => {
    const c = load({
      CLI_LIST: ' codex , claude,, gemini ',
      MODEL_LIST: 'gpt-5, o3 ',
      API_TOKENS: ' a-token ,b-token',
      RUN_ALLOW_ENV: 'PATH, HOME',
    })
    expect(c.CLI_LIST).toEqual(['codex', 'claude', 'gemini'])
    expect(c.MODEL_LIST).toEqual(['gpt-5', 'o3'])
    expect(c.API_TOKENS).toEqual(['a-token', 'b-token'])
    expect(c.RUN_ALLOW_ENV).toEqual(['PATH', 'HOME'])
  })
})

describe('RUN_RESPONSE_TIMEOUT_SECONDS', () => {
  it('is null when unset', () => {
    expect(load().RUN_RESPONSE_TIMEOUT_SECONDS).toBeNull()
  })

  it.each(['', '   ', 'abc', '0', '-5', 'Infinity'])('is null (disabled) for %j', (value) => {
    expect(load({ RUN_RESPONSE_TIMEOUT_SECONDS: value }).RUN_RESPONSE_TIMEOUT_SECONDS).toBeNull()
  })

  it.each([
    ['2.5', 2.5],
    ['30', 30],
  ])('is a number of seconds for %j', (value, expected) => {
    expect(load({ RUN_RESPONSE_TIMEOUT_SECONDS: value }).RUN_RESPONSE_TIMEOUT_SECONDS).toBe(expected)
  })
})

describe('invalid settings', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['TIMEOUT_SECONDS', 'soon'],
    ['TIMEOUT_SECONDS', '0'],
    ['TIMEOUT_SECONDS', '1.5'],
    ['LOG_LEVEL', 'verbose'],
    ['CODEX_API_BASE_URL', 'not a url'],
    ['CODEX_SANDBOX', 'yolo'],
    ['RUN_ALLOW_UNSAFE_ARGS', 'maybe'],
    ['BODY_LIMIT_BYTES', '10'],
    ['MAX_CONNECTIONS_PER_CLIENT_EXEMPT', '10.0.0.0/33'],
    ['MAX_CONNECTIONS_PER_CLIENT_EXEMPT', 'proxy.internal'],
    ['BODY_IDLE_SECONDS', '0'],
  ])('%s=%j throws a ConfigError naming the variable', (name, value) => {
    const err = configErrorOf({ [name]: value })
    expect(err.name).toBe('ConfigError')
    expect(err.message).toContain(`${name}:`)
  })

  it('names every invalid variable at once', () => {
    const err = configErrorOf({ PORT: 'x', LOG_LEVEL: 'loud' })
    expect(err.message).toContain('PORT:')
    expect(err.message).toContain('LOG_LEVEL:')
  })

  it('refuses a PORT above 65535', () => {
    // A TCP port is 0..65535; anything larger only fails later, inside listen().
    const err = configErrorOf({ PORT: '70000' })
    expect(err.message).toContain('PORT:')
  })

  it('accepts valid values of the same settings', () => {
    const c = load({
      PORT: '0',
      TIMEOUT_SECONDS: '5',
      LOG_LEVEL: 'debug',
      CODEX_API_BASE_URL: ' http://127.0.0.1:9999/v1 ',
      RUN_ALLOW_UNSAFE_ARGS: 'TRUE',
    })
    expect(c.PORT).toBe(0)
    expect(c.TIMEOUT_SECONDS).toBe(5)
    expect(c.LOG_LEVEL).toBe('debug')
    expect(c.CODEX_API_BASE_URL).toBe('http://127.0.0.1:9999/v1')
    expect(c.RUN_ALLOW_UNSAFE_ARGS).toBe(true)
  })
})

describe('PG_POOL_SIZE and PG_EVENT_LOG_LANES', () => {
  it('default to a pool of 10 and lanes left to the store (half the pool)', () => {
    const c = load()
    expect(c.PG_POOL_SIZE).toBe(10)
    expect(c.PG_EVENT_LOG_LANES).toBeUndefined()
    expect(defaultCommitLanes(c.PG_POOL_SIZE)).toBe(5)
    expect(defaultCommitLanes(2)).toBe(1)
    expect(defaultCommitLanes(7)).toBe(3)
    expect(settingDocs.PG_POOL_SIZE.default).toBe('10')
  })

  it('accept a pool from 2 to 1000 and lanes below it', () => {
    expect(load({ PG_POOL_SIZE: '2', PG_EVENT_LOG_LANES: '1' })).toMatchObject({
      PG_POOL_SIZE: 2,
      PG_EVENT_LOG_LANES: 1,
    })
    expect(load({ PG_POOL_SIZE: '1000', PG_EVENT_LOG_LANES: '999' })).toMatchObject({
      PG_POOL_SIZE: 1000,
      PG_EVENT_LOG_LANES: 999,
    })
    expect(load({ PG_POOL_SIZE: ' 40 ', PG_EVENT_LOG_LANES: '' })).toMatchObject({
      PG_POOL_SIZE: 40,
      PG_EVENT_LOG_LANES: undefined,
    })
  })

  it.each([
    ['PG_POOL_SIZE', '1'],
    ['PG_POOL_SIZE', '0'],
    ['PG_POOL_SIZE', '1001'],
    ['PG_POOL_SIZE', '8.5'],
    ['PG_POOL_SIZE', 'many'],
    ['PG_EVENT_LOG_LANES', '0'],
    ['PG_EVENT_LOG_LANES', '-2'],
    ['PG_EVENT_LOG_LANES', '2.5'],
    ['PG_EVENT_LOG_LANES', 'half'],
  ])('%s=%j is refused at start, naming the variable and the range', (name, value) => {
    const err = configErrorOf({ [name]: value })
    expect(err.message).toContain(`${name}: expected an integer from`)
  })

  it('refuses as many lanes as connections, or more, saying why and what to set', () => {
    for (const lanes of ['10', '11']) {
      const err = configErrorOf({ PG_EVENT_LOG_LANES: lanes })
      expect(err.message).toContain(`PG_EVENT_LOG_LANES (${lanes}) must be below PG_POOL_SIZE (10)`)
      expect(err.message).toContain('at most 9')
    }
    expect(configErrorOf({ PG_POOL_SIZE: '4', PG_EVENT_LOG_LANES: '4' }).message).toContain(
      'PG_EVENT_LOG_LANES (4) must be below PG_POOL_SIZE (4)',
    )
  })
})

describe('SSE_KEEPALIVE_SECONDS', () => {
  it('defaults to 15; 0 means no keep-alive comments', () => {
    expect(load().SSE_KEEPALIVE_SECONDS).toBe(15)
    expect(load({ SSE_KEEPALIVE_SECONDS: '0' }).SSE_KEEPALIVE_SECONDS).toBe(0)
    expect(load({ SSE_KEEPALIVE_SECONDS: ' 2 ' }).SSE_KEEPALIVE_SECONDS).toBe(2)
  })

  it.each(['-1', '1.5', 'never', '2147484'])(
    '%j is refused at start, naming the variable and the range',
    (value) => {
      const err = configErrorOf({ SSE_KEEPALIVE_SECONDS: value })
      expect(err.message).toContain('SSE_KEEPALIVE_SECONDS: expected an integer from 0 to 2147483')
    },
  )
})

describe('IDEMPOTENCY_KEY_TTL', () => {
  it('defaults to 24 hours, in seconds', () => {
    expect(load().IDEMPOTENCY_KEY_TTL).toBe(86_400)
    expect(load({ IDEMPOTENCY_KEY_TTL: '3600' }).IDEMPOTENCY_KEY_TTL).toBe(3600)
  })

  it.each(['0', '59', '1.5', '24h', '2592001'])(
    '%j is refused at start, naming the variable and the range',
    (value) => {
      const err = configErrorOf({ IDEMPOTENCY_KEY_TTL: value })
      expect(err.message).toContain(
        `IDEMPOTENCY_KEY_TTL: expected an integer from 60 to 2592000, got "${value}"`,
      )
    },
  )
})

describe('MAX_IMAGE_BYTES', () => {
  it('defaults to 5 MiB and takes any size up to what an agent line carries', () => {
    expect(load().MAX_IMAGE_BYTES).toBe(5 * 1024 * 1024)
    expect(load({ MAX_IMAGE_BYTES: '1000' }).MAX_IMAGE_BYTES).toBe(1000)
    expect(load({ MAX_IMAGE_BYTES: String(maxImageBytesCeiling) }).MAX_IMAGE_BYTES).toBe(maxImageBytesCeiling)
  })

  it('is at most what keeps an image and its message inside one 8 MiB line of an agent', () => {
    // 4 base64 chars for each 3 bytes, and room for the JSON-RPC envelope around them
    expect(maxImageBytesCeiling).toBe(6_242_304)
    expect(Math.ceil(maxImageBytesCeiling / 3) * 4 + 64 * 1024).toBeLessThanOrEqual(agentLineChars)
  })

  it.each(['0', '-1', '1.5', 'big', String(maxImageBytesCeiling + 1), String(8 * 1024 * 1024)])(
    '%j is refused at start, naming the variable and the range',
    (value) => {
      const err = configErrorOf({ MAX_IMAGE_BYTES: value })
      expect(err.message).toContain(`MAX_IMAGE_BYTES: expected an integer from 1 to ${maxImageBytesCeiling}`)
    },
  )
})

describe('MAX_CONNECTIONS_PER_CLIENT_EXEMPT', () => {
  it('exempts loopback by default, takes IPs and CIDRs, and `none` exempts nobody', () => {
    expect(load().MAX_CONNECTIONS_PER_CLIENT_EXEMPT).toEqual(['127.0.0.0/8', '::1'])
    expect(
      load({ MAX_CONNECTIONS_PER_CLIENT_EXEMPT: '10.1.2.3, fd00::/8' }).MAX_CONNECTIONS_PER_CLIENT_EXEMPT,
    ).toEqual(['10.1.2.3', 'fd00::/8'])
    expect(load({ MAX_CONNECTIONS_PER_CLIENT_EXEMPT: 'none' }).MAX_CONNECTIONS_PER_CLIENT_EXEMPT).toEqual([])
  })
})

describe('.env file', () => {
  it('is read from cwd', () => {
    const cwd = dir()
    writeFileSync(path.join(cwd, '.env'), 'PORT=9100\nMODEL_LIST=a,b\n')
    const c = load({}, cwd)
    expect(c.PORT).toBe(9100)
    expect(c.MODEL_LIST).toEqual(['a', 'b'])
  })

  it('never overrides a real environment variable', () => {
    const cwd = dir()
    writeFileSync(path.join(cwd, '.env'), 'PORT=9100\nHOST=0.0.0.0\nMODEL_LIST=from-file\n')
    const c = load({ PORT: '9200', HOST: '127.0.0.1' }, cwd)
    expect(c.PORT).toBe(9200)
    expect(c.HOST).toBe('127.0.0.1')
    expect(c.MODEL_LIST).toEqual(['from-file'])
  })

  it('is optional', () => {
    expect(() => load({}, dir())).not.toThrow()
  })

  it('is validated like the environment', () => {
    const cwd = dir()
    writeFileSync(path.join(cwd, '.env'), 'TIMEOUT_SECONDS=never\n')
    expect(() => load({}, cwd)).toThrow(/TIMEOUT_SECONDS/)
  })
})

describe('paths', () => {
  it('resolves relative paths against cwd', () => {
    const cwd = dir()
    const c = load({ DATA_DIR: 'state', WORKSPACE_DIR: 'ws', CODEX_HOME: 'codex-home' }, cwd)
    expect(c.DATA_DIR).toBe(path.join(cwd, 'state'))
    expect(c.WORKSPACE_DIR).toBe(path.join(cwd, 'ws'))
    expect(c.CODEX_HOME).toBe(path.join(cwd, 'codex-home'))
  })

  it('resolves the defaults against cwd', () => {
    const cwd = dir()
    const c = load({}, cwd)
    expect(c.DATA_DIR).toBe(path.join(cwd, 'data'))
    expect(c.WORKSPACE_DIR).toBe(path.join(cwd, 'data', 'workspaces'))
  })

  it('keeps absolute paths', () => {
    const cwd = dir()
    const elsewhere = dir()
    const c = load({ DATA_DIR: elsewhere, WORKSPACE_DIR: path.join(elsewhere, 'ws') }, cwd)
    expect(c.DATA_DIR).toBe(elsewhere)
    expect(c.WORKSPACE_DIR).toBe(path.join(elsewhere, 'ws'))
  })

  it('lists WORKSPACE_DIR first, then WORKSPACE_ROOTS, all absolute', () => {
    const cwd = dir()
    const abs = dir()
    const c = load({ WORKSPACE_DIR: 'main-ws', WORKSPACE_ROOTS: ` extra , ${abs} ` }, cwd)
    expect(c.workspaceRoots).toEqual([path.join(cwd, 'main-ws'), path.join(cwd, 'extra'), abs])
  })

  it('has only WORKSPACE_DIR as root by default', () => {
    const cwd = dir()
    expect(load({}, cwd).workspaceRoots).toEqual([path.join(cwd, 'data', 'workspaces')])
  })
})

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true)
  })

  it.each(['0.0.0.0', '192.168.1.1', '::', '10.0.0.1', '127.0.0.1.example.com', 'localhost.example.com', ''])(
    '%j is not loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false)
    },
  )
})

describe('settingDocs', () => {
  it('documents every setting of envSchema and nothing else', () => {
    const schemaKeys = Object.keys(envSchema.shape).sort()
    const docKeys = Object.keys(settingDocs).sort()
    expect(docKeys).toEqual(schemaKeys)
  })

  it('has a default and a description for each setting', () => {
    for (const [name, doc] of Object.entries(settingDocs)) {
      expect(doc.default, name).not.toBe('')
      expect(doc.description, name).not.toBe('')
    }
  })
})
