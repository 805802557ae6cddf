/** Generated IMV-shaped transfers big enough to interrupt (deterministic for the same options). */
import { transferOf, type ImvObject } from '../../bench/transfers';

export interface GenOptions {
  /** IMV object id of position 0; positions get firstId + position. */
  firstId: number;
  count: number;
  /** uebertragung/@timestamp */
  timestamp?: string;
  /** verwaltung_techn/stand_vom */
  stand?: string;
  /** Every n-th object names an onOffice user the tenant does not have (rejected: the file is partial). */
  unknownUserEvery?: number;
  /** Every n-th object is a DELETE of the object 10 positions earlier (often in an earlier chunk). */
  deleteEvery?: number;
  /** Every n-th object is a CHANGE of the object 7 positions earlier, with another price. */
  changeEvery?: number;
  /** Objects share this many contacts (onOffice's de-duplication merges them into one address). */
  contacts?: number;
  /** Filler text per object (bytes), to make the file slower to transfer. */
  padding?: number;
}

/** Position p of a generated transfer, planned (the template is bench/transfers' imvObject). */
function planned(o: GenOptions, p: number): ImvObject {
  const every = (n: number | undefined) => !!n && p >= 10 && p % n === n - 1;
  let id = o.firstId + p;
  let action: ImvObject['action'];
  if (every(o.deleteEvery)) {
    id = o.firstId + p - 10;
    action = 'DELETE';
  } else if (every(o.changeEvery)) {
    id = o.firstId + p - 7;
    action = 'CHANGE';
  }
  return {
    id,
    // The estate's data follows its id: a CHANGE differs from the original in price and title only.
    n: id - o.firstId,
    owner: o.firstId + (p % (o.contacts ?? Math.max(1, Math.ceil(o.count / 3)))),
    action,
    user: every(o.unknownUserEvery) ? 'nicht.angelegt' : id % 2 ? 'skoch' : 'mmustermann',
    stand: o.stand,
    withoutPersonNumber: p % 7 === 3,
    withoutMobile: p % 5 !== 0,
    padding: o.padding,
  };
}

/** An IMV-shaped OpenImmo transfer with `count` objects (deterministic for the same options). */
export function generateTransfer(o: GenOptions): Buffer {
  return transferOf(
    Array.from({ length: o.count }, (_, p) => planned(o, p)),
    { timestamp: o.timestamp },
  );
}
