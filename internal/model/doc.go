// Package model holds canhgac's core domain types: agencies, users, assets,
// audit events and the caller's scope, with the validation rules that apply
// to them whichever storage backend or interface they arrive through.
package model
