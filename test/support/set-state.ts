import type { SessionClaim, SessionStateSet, Store } from '../../src/store/store.js'

/** A session state stored alone (setSessionStateWithEvents with no events): whether it was stored. */
export async function setStateAlone(
  store: Pick<Store, 'setSessionStateWithEvents'>,
  id: string,
  change: SessionStateSet,
  claim?: SessionClaim,
): Promise<boolean> {
  return (await store.setSessionStateWithEvents(id, change, claim, () => [])).stored
}
