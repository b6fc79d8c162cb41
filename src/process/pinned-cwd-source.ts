/**
 * How a child is spawned in its working directory, written once as plain CommonJS source (like
 * proc-scan-source.ts): the spawn host includes it, this thread evaluates the same text (pinned-cwd.ts).
 *
 * `spawnPinned(spawn, command, args, options, beforeSpawn)`: `options.cwd` is a real path the gateway checked
 * (inside the workspace roots, for a run or a session turn); a local user who can change the workspace could
 * swap a directory on that path for a symlink after the check. So the directory is opened here (O_DIRECTORY,
 * close-on-exec as every descriptor Node opens), the path the kernel has for what was opened
 * (/proc/self/fd/<fd>) must be the cwd itself, else the spawn fails (ECWDMOVED: something on the path changed
 * since the check), and the child is spawned with cwd `/proc/self/fd/<fd>`: the forked child changes into the
 * opened directory before it executes the program (libuv), whatever the path names by then, and the descriptor
 * closes at that exec, so the program never has it. This process closes its own once spawn() returned (libuv's
 * spawn returns after the exec, or its failure). Without /proc the child is spawned by path, as before.
 * `beforeSpawn(fd)`: a test's seam between the check and the spawn.
 */
export const pinnedCwdSource = `
function spawnPinned(spawn, command, args, options, beforeSpawn) {
  const fs = require('node:fs')
  const cwd = options.cwd
  const fd = fs.openSync(cwd, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
  try {
    let opened
    try {
      opened = fs.readlinkSync('/proc/self/fd/' + fd)
    } catch (err) {
      // no /proc here: by path, as before; any other failure fails the spawn
      if (err.code === 'ENOENT') return spawn(command, args, options)
      throw err
    }
    if (opened !== cwd) {
      const err = new Error('cwd ' + cwd + ' changed since it was checked: it is not a real path to the same directory now')
      err.code = 'ECWDMOVED'
      throw err
    }
    if (beforeSpawn) beforeSpawn(fd)
    return spawn(command, args, Object.assign({}, options, { cwd: '/proc/self/fd/' + fd }))
  } finally {
    fs.closeSync(fd)
  }
}
`
