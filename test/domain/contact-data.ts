/** A contact as the reader gives it: every field empty unless `c` fills it. */
import type { ContactData } from '../../openimmo/types';

export const contact = (c: Partial<ContactData>): ContactData => ({
  externalId: null,
  salutation: null,
  title: null,
  firstName: null,
  lastName: null,
  company: null,
  street: null,
  houseNumber: null,
  zip: null,
  city: null,
  country: null,
  emails: {},
  phones: {},
  url: null,
  role: null,
  ...c,
});
