import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { containersConf, ensureTestImage, pruneTestImages } from './container-image.js'
import { removeContainers, suiteContainers } from './containers.js'
import { removeOrphanedServers, removeServersOf } from './postgres-leftovers.js'
import { makeTemplate, templateVariable } from './postgres-template.js'
import { serversRoot } from './postgres-tools.js'
import { ownerOf, ownerVariable } from './process-owner.js'
import { killAll, processesUnder, waitUntilGone } from './processes.js'

/**
 * One temp root for the whole suite (workers inherit it through AGW_TEST_TMP), and the container test image
 * (AGW_TEST_IMAGE, built once and cached by content hash; older test images are pruned). At the end, any process still running inside the
 * root, or any container of this suite's gateways, is a leak: it is removed and the suite fails.
 * PostgreSQL (test/support/postgres.ts): the servers that killed runs left are stopped first, then one initdb
 * makes the template every test server copies (AGW_PG_TEMPLATE); servers of this run (AGW_TEST_OWNER, this
 * process) still running at the end are leaks too.
 */
export default async function setup() {
  const owner = ownerOf(process.pid)
  process.env[ownerVariable] = JSON.stringify(owner)
  const pgRoot = serversRoot()
  const leftovers = removeOrphanedServers(pgRoot)
  if (leftovers.removed.length > 0)
    console.warn(
      `removed the PostgreSQL test servers and templates of killed runs: ${leftovers.removed.join(', ')}`,
    )
  for (const failure of leftovers.failed) console.warn(failure)
  // initdb runs while the image is checked or built; without PostgreSQL there is no template, and each
  // server's own initdb says what is missing
  const template = makeTemplate(pgRoot, owner).catch(() => undefined)
  const root = mkdtempSync(path.join(os.tmpdir(), 'agw-tests-'))
  process.env.AGW_TEST_TMP = root
  // names this suite's container instances (test/support/containers.ts): its teardown touches only those
  process.env.AGW_TEST_SUITE = path
    .basename(root)
    .replace(/[^a-zA-Z0-9]/g, '')
    .toLowerCase()
  // podman on this machine needs runc and ulimits it can grant; the container tests share one image
  process.env.CONTAINERS_CONF ??= containersConf
  process.env.AGW_TEST_IMAGE = ensureTestImage()
  // each node_modules builds its own test image: drop this project's older ones (labelled, unused)
  pruneTestImages(process.env.AGW_TEST_IMAGE)
  const templateData = await template
  if (templateData) process.env[templateVariable] = templateData
  return async () => {
    const servers = removeServersOf(pgRoot, owner).servers
    const containers = await suiteContainers()
    await removeContainers(containers)
    const leaked = await waitUntilGone(() => processesUnder(root), 5000)
    killAll(leaked)
    rmSync(root, { recursive: true, force: true })
    if (servers.length > 0)
      throw new Error(`PostgreSQL servers outlived the suite (stopped now): ${servers.join(', ')}`)
    if (containers.length > 0)
      throw new Error(`containers outlived the suite (removed now): ${containers.join(', ')}`)
    if (leaked.length > 0)
      throw new Error(
        `child processes outlived the suite:\n${leaked.map((p) => `  ${p.pid} ${p.cmd}`).join('\n')}`,
      )
  }
}
