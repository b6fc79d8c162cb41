import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { expect } from 'vitest'

/** Where a kind of owned directory keeps its owner file (src/process/owned-dirs.ts). */
export interface OwnedLayout {
  /** What the directories' names start with. */
  prefix: string
  owner: 'inside' | 'beside'
}

/** What a sweep must do with the look-alikes: leave `kept`, leave `links` links, remove `gone`. */
export interface LookAlikes {
  /** The killed gateway's owner file, as it wrote it. */
  owner: { pid: number } & Record<string, unknown>
  kept: string[]
  links: string[]
  gone: string[]
}

export const ownerFileOf = (layout: OwnedLayout, dir: string): string =>
  layout.owner === 'inside' ? path.join(dir, 'owner') : `${dir}.owner`

/**
 * Makes in `parent`, beside `left` (the directory a killed gateway left, with its owner file), what a sweep of
 * `layout` must tell apart from it (and, for the link, a directory `outside` in `scratch`, out of `parent`). Kept: a name alone (no owner file), an owner in another pid
 * namespace (a container sharing the directory, where that pid may well run), another user's (as root only), a
 * link to a directory (in `outside`) whose owner would qualify, an owner file that is a link. Gone with their
 * makers: one of this user left before the last boot, and (beside) an owner file whose directory a removal cut
 * short already took.
 */
export function makeLookAlikes(
  parent: string,
  layout: OwnedLayout,
  left: string,
  scratch: string,
): LookAlikes {
  const ownerFile = ownerFileOf(layout, left)
  const owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as LookAlikes['owner']
  const outside = path.join(scratch, 'outside')
  mkdirSync(outside)
  let n = 2147483646
  const make = (ownerText?: string, where = parent, name = `${layout.prefix}${n--}-AbC123`) => {
    const dir = path.join(where, name)
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'keep'), '')
    if (ownerText !== undefined) writeFileSync(ownerFileOf(layout, dir), ownerText)
    return dir
  }
  const byName = make()
  const otherNamespace = make(JSON.stringify({ ...owner, pidNamespace: 'pid:[1]' }))
  const kept = [byName, otherNamespace, ownerFileOf(layout, otherNamespace)]
  // (only root can make another user's directory)
  if (process.getuid?.() === 0) {
    const otherUser = make(JSON.stringify(owner))
    chownSync(otherUser, 4242, 4242)
    kept.push(otherUser)
  }
  const target = make(JSON.stringify(owner), outside, 'elsewhere')
  const link = path.join(parent, `${layout.prefix}${n--}-AbC123`)
  symlinkSync(target, link)
  if (layout.owner === 'beside') writeFileSync(ownerFileOf(layout, link), JSON.stringify(owner))
  if (layout.owner === 'beside') kept.push(ownerFileOf(layout, link))
  const linkedOwner = make()
  symlinkSync(ownerFile, ownerFileOf(layout, linkedOwner))
  kept.push(target, path.join(target, 'keep'), linkedOwner)
  const links = [link, ownerFileOf(layout, linkedOwner)]
  const earlierBoot = make(JSON.stringify({ ...owner, bootId: 'an-earlier-boot' }))
  const gone = [earlierBoot, ownerFileOf(layout, earlierBoot)]
  if (layout.owner === 'beside') {
    const halfRemoved = path.join(parent, `${layout.prefix}${n--}-AbC123`)
    writeFileSync(ownerFileOf(layout, halfRemoved), JSON.stringify(owner))
    gone.push(ownerFileOf(layout, halfRemoved))
  }
  return { owner, kept, links, gone }
}

/** After a sweep: what had to go is gone, what had to stay is there, links are still links. */
export function expectSwept({ kept, links, gone }: Omit<LookAlikes, 'owner'>): void {
  for (const file of gone) expect(existsSync(file), `${file} is removed`).toBe(false)
  for (const file of kept) expect(existsSync(file), `${file} is kept`).toBe(true)
  for (const link of links) expect(lstatSync(link).isSymbolicLink(), `${link} is kept`).toBe(true)
}
