/**
 * Where the focus goes when an approval's card went with it (answered here, or elsewhere while a keyboard was on
 * it): the next card still waiting in `list` (the first: the answered one was above it), on its first control (the
 * inbox's link to the session, the session bar's disclosure of the command), not on its Accept, whose command the
 * reader has not read yet (a second Enter would accept it). Only a control that was inside a card (`lost`) hands the
 * focus on: a card that comes in while the focus is elsewhere takes nothing. Null when `lost` was not in a card or
 * no card is left.
 */
export function nextApprovalFocus(
  lost: HTMLElement,
  list: ParentNode | null | undefined,
): HTMLElement | null {
  // the card may be gone with it: closest() still finds it at the removed subtree's root
  if (!list || !waitingCard(lost)) return null
  const card = list.querySelector('.approval:not(.resolved)')
  return card?.querySelector<HTMLElement>('a[href], button, summary, select, textarea, input') ?? null
}

/** Whether `lost` was in a card waiting for an answer (not in one the inbox lists as answered). */
export const waitingCard = (lost: HTMLElement) => lost.closest('.approval:not(.resolved)') !== null
