/**
 * Where the focus goes when an approval's card went with it (answered here, or elsewhere while a keyboard was on
 * it): the next card still waiting in `list` (the first: the answered one was above it), the card itself, whose
 * accessible name is its command (PendingCard): a screen reader says what it asks first (on its first control, the
 * inbox's link to the session, it said the session's id), and Tab goes on to its controls. Not its Accept, whose
 * command the reader has not read yet (a second Enter would accept it). Only a control that was inside a card
 * (`lost`) hands the focus on: a card that comes in while the focus is elsewhere takes nothing. Null when `lost` was
 * not in a card or no card is left.
 */
export function nextApprovalFocus(
  lost: HTMLElement,
  list: ParentNode | null | undefined,
): HTMLElement | null {
  // the card may be gone with it: closest() still finds it at the removed subtree's root
  if (!list || !waitingCard(lost)) return null
  return list.querySelector<HTMLElement>('.approval:not(.resolved)')
}

/** Whether `lost` was in a card waiting for an answer (not in one the inbox lists as answered). */
export const waitingCard = (lost: HTMLElement) => lost.closest('.approval:not(.resolved)') !== null
