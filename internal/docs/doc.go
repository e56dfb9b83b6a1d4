// Package docs holds no code: its tests check the repository's Markdown
// files, so that a moved or renamed file or heading breaks the build
// instead of a reader's link.
package docs
