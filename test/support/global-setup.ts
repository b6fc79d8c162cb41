import { rmSync } from 'node:fs'
import os from 'node:os'
import type { TestProject } from 'vitest/node'
import { builtIsCurrent, builtVariable } from './built-server.js'
import { containersConf, ensureTestImage, pruneTestImages } from './container-image.js'
import { containersOfSuites, removeContainers, suiteContainers } from './containers.js'
import { imagesStateDir } from './image-import.js'
import { releaseLeases } from './image-leases.js'
import { removeOrphanedServers, removeServersOf } from './postgres-leftovers.js'
import { makeTemplate, templateVariable } from './postgres-template.js'
import { serversRoot } from './postgres-tools.js'
import { ownerOf, ownerVariable } from './process-owner.js'
import { killAll, processesUnder, waitUntilGone } from './processes.js'
import { removeServersOnExit, startRunServer } from './run-postgres.js'
import { runFiles, suiteNeeds } from './suite-needs.js'
import { makeSuiteRoot, removeOrphanedRoots, suiteId } from './suite-roots.js'

/**
 * One temp root for the whole suite (workers inherit it through AGW_TEST_TMP; suite-roots.ts), and, for a run
 * whose files need them (suite-needs.ts), the container test image (AGW_TEST_IMAGE: found by its fingerprint,
 * or imported once; stale test images pruned: container-image.ts) and the PostgreSQL template. At the end,
 * any process still running inside the root, or any container of this suite's gateways, is a leak: it is
 * removed and the suite fails.
 * What killed runs left is removed first: their roots (with the agents still running there and their
 * containers) and their PostgreSQL servers and templates. PostgreSQL (test/support/postgres.ts): one initdb
 * makes the template every test server copies (AGW_PG_TEMPLATE), and one server started from it serves the run's
 * files (AGW_PG_SERVER: run-postgres.ts), stopped and deleted at the end, whatever the tests did; servers of this
 * run (AGW_TEST_OWNER, this process) a file started and still running at the end are leaks.
 */
export default async function setup(project: TestProject) {
  const owner = ownerOf(process.pid)
  process.env[ownerVariable] = JSON.stringify(owner)
  // podman on this machine needs runc and ulimits it can grant; the container tests share one image
  process.env.CONTAINERS_CONF ??= containersConf
  // server processes run dist/ when it is built from the sources as they are (built-server.ts), else src/ (tsx)
  process.env[builtVariable] = builtIsCurrent() ? '1' : '0'
  const files = runFiles(project)
  if (!files)
    console.warn('vitest did not list the run’s files: global setup prepares the test image and template')
  const needs = suiteNeeds(files)
  const pgRoot = serversRoot()
  const leftovers = removeOrphanedServers(pgRoot)
  if (leftovers.removed.length > 0)
    console.warn(
      `removed the PostgreSQL test servers and templates of killed runs: ${leftovers.removed.join(', ')}`,
    )
  for (const failure of leftovers.failed) console.warn(failure)
  const orphanedRoots = await removeOrphanedRoots(os.tmpdir(), async (suites) =>
    removeContainers(await containersOfSuites(suites)),
  ).catch((err: Error) => [`(failed: ${err.message})`])
  if (orphanedRoots.length > 0)
    console.warn(`removed the temp roots of killed runs and their containers: ${orphanedRoots.join(', ')}`)
  // an interrupted run (SIGINT, SIGTERM) stops its servers on its way out (run-postgres.ts)
  const offExit = needs.postgres ? removeServersOnExit(pgRoot, owner) : () => {}
  // initdb runs while the image is checked or built; without PostgreSQL there is no template, and each
  // server's own initdb says what is missing
  const template = needs.postgres ? makeTemplate(pgRoot, owner).catch(() => undefined) : undefined
  const root = makeSuiteRoot(os.tmpdir(), owner)
  process.env.AGW_TEST_TMP = root
  // names this suite's container instances (test/support/containers.ts): its teardown touches only those
  process.env.AGW_TEST_SUITE = suiteId(root)
  if (needs.containers) {
    process.env.AGW_TEST_IMAGE = ensureTestImage({
      onWait: (holder) => console.warn(`waiting for the test image that process ${holder.pid} imports`),
    })
    const pruned = pruneTestImages()
    if (pruned.length > 0) console.warn(`removed stale test images: ${pruned.join(', ')}`)
  }
  const templateData = await template
  if (templateData) {
    process.env[templateVariable] = templateData
    // the run's one server, whose databases the files' sharedPostgres() take (run-postgres.ts); without it each
    // file starts its own and says what failed
    await startRunServer(pgRoot, owner).catch((err: Error) =>
      console.warn(`the run's PostgreSQL server did not start: ${err.message}`),
    )
  }
  return async () => {
    const servers = removeServersOf(pgRoot, owner).servers
    offExit()
    // a worker that made sure of the image itself (testImage()) leased it: that run has containers too
    const leased = releaseLeases(imagesStateDir(), owner)
    const containers = needs.containers || leased.length > 0 ? await suiteContainers() : []
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
