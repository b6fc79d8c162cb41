import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { acpAgentSpecs } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import { dataUrlImage, promptBlocks } from '../../src/agents/acp/prompt-blocks.js'
import { loadConfig } from '../../src/config/load.js'
import { sniffImage } from '../../src/util/image-type.js'
import { tempDir } from '../support/temp.js'

/** A turn's images as ACP image blocks (the real end to end: v1-sessions.test.ts, acp:codex-acp). */
const dir = tempDir('acp-blocks-')
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
)
const takesImages = { agentCapabilities: { promptCapabilities: { image: true } } }

describe('ACP prompt blocks', () => {
  it('a file is sent as its bytes, its type from its content alone; a data: URL as it is, typed by its bytes', async () => {
    writeFileSync(path.join(dir, '0-shot.jpg'), png)
    writeFileSync(path.join(dir, '1-photo.jpg'), 'no signature')
    writeFileSync(path.join(dir, '2-notes.txt'), 'plain text')
    const input = [
      { type: 'text' as const, text: 'look' },
      { type: 'localImage' as const, path: path.join(dir, '0-shot.jpg') },
      // a GIF declared as a JPEG goes as what its bytes say
      { type: 'image' as const, url: 'data:image/jpeg;base64,R0lGODlh' },
    ]
    expect(await promptBlocks(input, takesImages, 'acp:x')).toEqual([
      { type: 'text', text: 'look' },
      { type: 'image', data: png.toString('base64'), mimeType: 'image/png' },
      { type: 'image', data: 'R0lGODlh', mimeType: 'image/gif' },
    ])
    // before, an extension decided when the bytes said nothing: 'no signature' went as an image/jpeg block
    for (const [file, name] of [
      ['2-notes.txt', 'notes.txt'],
      ['1-photo.jpg', 'photo.jpg'],
    ])
      await expect(
        promptBlocks([{ type: 'localImage', path: path.join(dir, file!) }], takesImages, 'acp:x'),
      ).rejects.toThrow(`image "${name}" is not a PNG, JPEG, GIF or WebP image`)
    expect(sniffImage(Buffer.from('RIFF0000WEBPVP8 '))).toEqual({
      mimeType: 'image/webp',
      extension: '.webp',
    })
    expect(dataUrlImage('data:image/svg+xml,%3Csvg%2F%3E')).toEqual({
      mimeType: 'image/svg+xml',
      data: Buffer.from('<svg/>').toString('base64'),
    })
  })

  it('an agent whose initialize answer lacks promptCapabilities.image fails a turn with images; text goes', async () => {
    const text = [{ type: 'text' as const, text: 'hi' }]
    expect(await promptBlocks(text, {}, 'acp:x')).toEqual([{ type: 'text', text: 'hi' }])
    await expect(
      promptBlocks(
        [...text, { type: 'image', url: 'data:image/png;base64,AA' }],
        {
          agentCapabilities: { promptCapabilities: { image: false } },
        },
        'acp:x',
      ),
    ).rejects.toThrow('acp:x does not take images: its initialize answer has no promptCapabilities.image')
  })

  it('the presets take images (each answers initialize with promptCapabilities.image); a custom agent does not', () => {
    const config = loadConfig({ PATH: process.env.PATH, HOME: dir }, dir)
    const drivers = acpAgentSpecs('copilot,mine=/bin/true').map((spec) => new AcpDriver(config, spec, {}))
    expect(drivers.map((d) => [d.id, d.capabilities.images, d.imageUrls])).toEqual([
      ['acp:codex-acp', true, true],
      ['acp:claude-agent-acp', true, true],
      ['acp:gemini', true, true],
      ['acp:copilot', true, true],
      ['acp:mine', false, false],
    ])
  })
})
