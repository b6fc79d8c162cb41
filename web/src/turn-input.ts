/**
 * A turn's input as the console shows it: its text, and each image as the client named it (a workspace path, or
 * that an image came inline).
 */
type InputItem =
  | { type: 'text'; text: string }
  | { type: 'localImage'; path: string }
  | { type: 'image'; url: string }

export function inputText(input: readonly InputItem[]): string {
  return input
    .map((part) =>
      part.type === 'text' ? part.text : part.type === 'localImage' ? `[image: ${part.path}]` : '[image]',
    )
    .join('\n')
}
