// Keyboard-only driving: Tab (or Shift+Tab) until the focused element matches,
// as a keyboard user would; fails if the control cannot be reached.
export async function tabTo(page, selector, { max = 200, back = false } = {}) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => !!document.activeElement && document.activeElement.matches(s), selector)) return i;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`${selector} is not reachable with the keyboard`);
}

export async function focusedKey(page) {
  return page.evaluate(() => (document.activeElement && document.activeElement.dataset.key) || document.activeElement.id || document.activeElement.tagName);
}
