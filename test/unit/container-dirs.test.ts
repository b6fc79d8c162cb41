import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { loadConfig } from '../../src/config/load.js'
import { checkContainerCwd, checkContainerDirs, createRunner } from '../../src/core/runners.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * Which of the gateway's own directories a container engine can mount is known at start: a gateway with containers
 * whose DATA_DIR (every codex container session mounts its image directory from it) holds what the engine's
 * --mount cannot carry refuses to start, rather than fail each session (process/container/bind-mount.ts).
 */
describe('container directories checked at start', () => {
  const dir = tempDir('container-dirs-')
  afterAll(() => removeDir(dir))
  const config = (env: Record<string, string>) =>
    loadConfig(
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, WORKSPACE_DIR: `${dir}/w`, ...env },
      dir,
    )
  const odd = `${dir}/d,a"t:a\nx`

  it('docker: a DATA_DIR holding `,` `"` or a line break stops the gateway, naming it', () => {
    const docker = config({
      CONTAINER_ENGINE: 'docker',
      CONTAINER_IMAGE: 'localhost/agents:1',
      DATA_DIR: odd,
    })
    expect(() => checkContainerDirs(docker, {}, '/tmp')).toThrow(ConfigError)
    expect(() => createRunner(docker, {})).toThrow(
      /DATA_DIR ".*" cannot be mounted into a container: its path holds ","/s,
    )
    const home = config({ CONTAINER_ENGINE: 'docker', CONTAINER_IMAGE: 'localhost/agents:1' })
    expect(() => checkContainerDirs(home, { COPILOT_HOME: '/h/x\ny' }, '/tmp')).toThrow(/COPILOT_HOME/)
    expect(() => checkContainerDirs(home, {}, '/tmp/a"b')).toThrow(/temp dir/)
    // no containers configured: nothing is mounted, nothing refused
    expect(() =>
      checkContainerDirs(config({ CONTAINER_ENGINE: 'docker', DATA_DIR: odd }), {}, '/tmp'),
    ).not.toThrow()
  })

  it('podman: the same DATA_DIR and cwd are fine; only CR LF is refused', () => {
    const podman = config({
      CONTAINER_ENGINE: '/usr/bin/podman',
      CONTAINER_IMAGE: 'localhost/agents:1',
      DATA_DIR: odd,
    })
    expect(() => checkContainerDirs(podman, {}, '/tmp')).not.toThrow()
    const placement = { isolation: 'container' as const, image: 'localhost/agents:1' }
    expect(() => checkContainerCwd(placement, odd, podman)).not.toThrow()
    expect(() => checkContainerCwd(placement, `${dir}/x\r\ny`, podman)).toThrow(
      /carriage return before a line break/,
    )
    expect(() => checkContainerDirs(podman, { CLAUDE_CONFIG_DIR: '/c/x\r\ny' }, '/tmp')).toThrow(
      /CLAUDE_CONFIG_DIR/,
    )
  })
})
