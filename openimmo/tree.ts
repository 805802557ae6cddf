/**
 * Small, allocation-light accessors over XmlElement (the per-object tree the reader builds).
 * Names are local names: the reader has already dropped prefixes.
 */
import type { XmlElement, XmlNode } from './types';

/** First child element with that local name. */
export function child(el: XmlElement | null | undefined, name: string): XmlElement | null {
  const kids = el?.children;
  if (!kids) return null;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    if (typeof k !== 'string' && k.name === name) return k;
  }
  return null;
}

/** All child elements with that local name, in document order. */
export function childrenNamed(el: XmlElement | null | undefined, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const kids = el?.children;
  if (!kids) return out;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    if (typeof k !== 'string' && k.name === name) out.push(k);
  }
  return out;
}

export function elementChildren(el: XmlElement | null | undefined): XmlElement[] {
  const out: XmlElement[] = [];
  const kids = el?.children;
  if (!kids) return out;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    if (typeof k !== 'string') out.push(k);
  }
  return out;
}

export function hasElementChildren(el: XmlElement): boolean {
  const kids = el.children;
  if (!kids) return false;
  for (let i = 0; i < kids.length; i++) if (typeof kids[i] !== 'string') return true;
  return false;
}

/**
 * Attribute value by local name. Exporters disagree on case (`WOHNEN` vs `wohnen`, `feldname` vs
 * `Feldname`): the exact name first, then a case-insensitive look.
 */
export function attr(el: XmlElement | null | undefined, name: string): string | null {
  const a = el?.attrs;
  if (!a) return null;
  const v = a[name];
  if (v !== undefined) return v;
  const lower = name.toLowerCase();
  for (const k in a) if (k.toLowerCase() === lower) return a[k]!;
  return null;
}

/** All text below the element, concatenated in document order (CDATA included). */
export function deepText(el: XmlElement): string {
  const kids = el.children;
  if (!kids) return '';
  if (kids.length === 1 && typeof kids[0] === 'string') return kids[0];
  let s = '';
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    s += typeof k === 'string' ? k : deepText(k);
  }
  return s;
}

/** The element's text, trimmed; null when the element is absent or has no text. */
export function text(el: XmlElement | null | undefined): string | null {
  if (!el) return null;
  const s = deepText(el).trim();
  return s === '' ? null : s;
}

/** Text of the first child with that name. */
export function childText(el: XmlElement | null | undefined, name: string): string | null {
  return text(child(el, name));
}

function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function escapeAttr(s: string): string {
  return s.replace(/[&<"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&quot;'));
}

export function serialize(node: XmlNode): string {
  if (typeof node === 'string') return escapeText(node);
  const qname = node.prefix ? `${node.prefix}:${node.name}` : node.name;
  let s = `<${qname}`;
  if (node.attrs) for (const k in node.attrs) s += ` ${k}="${escapeAttr(node.attrs[k]!)}"`;
  if (!node.children || node.children.length === 0) return `${s}/>`;
  s += '>';
  for (const k of node.children) s += serialize(k);
  return `${s}</${qname}>`;
}

/** The element's content as XML: free texts with unescaped HTML (`<br/>`) keep their markup. */
export function innerXml(el: XmlElement): string {
  let s = '';
  for (const k of el.children ?? []) s += serialize(k);
  return s;
}

/** Text for free-text fields: plain text as is, mixed content (HTML written as elements) as markup. */
export function richText(el: XmlElement | null | undefined): string | null {
  if (!el) return null;
  const s = (hasElementChildren(el) ? innerXml(el) : deepText(el)).trim();
  return s === '' ? null : s;
}
