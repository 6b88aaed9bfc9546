//! Payment allocation: which parts of which debts a payment pays.
//!
//! A payment pays the case's accounts component by component in the creditor's order
//! (default costs → fees → interest → principal): every account's costs before any
//! account's fees, and so on; within a component, accounts in the order given (the
//! caller puts the oldest delinquency first). What is left after everything owed is
//! paid is a credit. A reversal is the allocation with its signs turned, so it reopens
//! exactly what the payment closed.

use crate::money::{Currency, Money, MoneyError};

/// The parts of a debt a payment can pay.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Costs,
    Fees,
    Interest,
    Principal,
}

impl Component {
    pub const ALL: [Component; 4] = [
        Component::Costs,
        Component::Fees,
        Component::Interest,
        Component::Principal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Costs => "costs",
            Component::Fees => "fees",
            Component::Interest => "interest",
            Component::Principal => "principal",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum AllocationError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("an allocation order names each of costs, fees, interest and principal once")]
    NotAnOrder,
    #[error("account {0} owes a negative amount; its balance is corrupt")]
    NegativeOwed(String),
}

/// A creditor's order of components; [`Default`] is costs → fees → interest → principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<Component>")]
pub struct AllocationOrder([Component; 4]);

impl AllocationOrder {
    pub fn new(order: &[Component]) -> Result<AllocationOrder, AllocationError> {
        let mut seen = [false; 4];
        for c in order {
            if std::mem::replace(&mut seen[c.index()], true) {
                return Err(AllocationError::NotAnOrder);
            }
        }
        match order.try_into() {
            Ok(all) if seen.iter().all(|s| *s) => Ok(AllocationOrder(all)),
            _ => Err(AllocationError::NotAnOrder),
        }
    }

    pub fn components(&self) -> [Component; 4] {
        self.0
    }
}

impl TryFrom<Vec<Component>> for AllocationOrder {
    type Error = AllocationError;

    fn try_from(order: Vec<Component>) -> Result<Self, Self::Error> {
        AllocationOrder::new(&order)
    }
}

impl Default for AllocationOrder {
    fn default() -> Self {
        AllocationOrder(Component::ALL)
    }
}

/// What one account still owes, per component, in its currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owed<K> {
    pub account: K,
    pub currency: Currency,
    /// Minor units per component, indexed like [`Component::ALL`].
    minor: [i64; 4],
}

impl<K> Owed<K> {
    pub fn new(account: K, currency: Currency) -> Owed<K> {
        Owed {
            account,
            currency,
            minor: [0; 4],
        }
    }

    /// Sets what a component owes; the amount must be in the account's currency.
    pub fn with(mut self, component: Component, amount: Money) -> Result<Owed<K>, MoneyError> {
        Money::zero(self.currency).checked_add(amount)?;
        self.minor[component.index()] = amount.minor();
        Ok(self)
    }

    pub fn get(&self, component: Component) -> Money {
        Money::from_minor(self.minor[component.index()], self.currency)
    }

    /// Everything the account owes.
    pub fn total(&self) -> Money {
        Money::from_minor(self.minor.iter().sum(), self.currency)
    }
}

/// One part of a payment: an amount paid on one component of one account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part<K> {
    pub account: K,
    pub component: Component,
    pub amount: Money,
}

/// Where a payment went. The parts and the credit add up to the payment exactly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Allocation<K> {
    pub parts: Vec<Part<K>>,
    /// What was left after everything owed was paid (zero or more).
    pub credit: Money,
}

impl<K: Clone> Allocation<K> {
    /// The allocation that undoes this one: the same parts and credit, negated.
    pub fn reversed(&self) -> Allocation<K> {
        Allocation {
            parts: self
                .parts
                .iter()
                .map(|p| Part {
                    amount: Money::from_minor(-p.amount.minor(), p.amount.currency()),
                    ..p.clone()
                })
                .collect(),
            credit: Money::from_minor(-self.credit.minor(), self.credit.currency()),
        }
    }
}

/// Allocates a payment across the accounts (in the order given) in `order`.
pub fn allocate<K: Clone + std::fmt::Display>(
    payment: Money,
    accounts: &[Owed<K>],
    order: &AllocationOrder,
) -> Result<Allocation<K>, AllocationError> {
    let payment = payment.positive()?;
    for a in accounts {
        Money::zero(payment.currency()).checked_add(a.total())?;
        if a.minor.iter().any(|m| *m < 0) {
            return Err(AllocationError::NegativeOwed(a.account.to_string()));
        }
    }
    let mut left = payment.minor();
    let mut parts = Vec::new();
    for component in order.0 {
        for a in accounts {
            if left == 0 {
                break;
            }
            let paid = left.min(a.minor[component.index()]);
            if paid > 0 {
                left -= paid;
                parts.push(Part {
                    account: a.account.clone(),
                    component,
                    amount: Money::from_minor(paid, payment.currency()),
                });
            }
        }
    }
    Ok(Allocation {
        parts,
        credit: Money::from_minor(left, payment.currency()),
    })
}

/// The balances after an allocation (or, with [`Allocation::reversed`], after undoing
/// one). Parts naming an account not in `accounts` are ignored.
pub fn apply<K: Clone + PartialEq>(
    accounts: &[Owed<K>],
    allocation: &Allocation<K>,
) -> Vec<Owed<K>> {
    let mut out = accounts.to_vec();
    for part in &allocation.parts {
        if let Some(a) = out.iter_mut().find(|a| a.account == part.account) {
            a.minor[part.component.index()] -= part.amount.minor();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn usd() -> Currency {
        Currency::from_code("USD").unwrap()
    }

    fn owed(account: &str, [costs, fees, interest, principal]: [i64; 4]) -> Owed<String> {
        Owed {
            account: account.into(),
            currency: usd(),
            minor: [costs, fees, interest, principal],
        }
    }

    #[test]
    fn default_order_pays_costs_fees_interest_principal_across_accounts() {
        let accounts = [owed("A", [100, 50, 0, 1_000]), owed("B", [20, 0, 30, 500])];
        let a = allocate(
            Money::from_minor(250, usd()),
            &accounts,
            &AllocationOrder::default(),
        )
        .unwrap();
        let got: Vec<(&str, Component, i64)> = a
            .parts
            .iter()
            .map(|p| (p.account.as_str(), p.component, p.amount.minor()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("A", Component::Costs, 100),
                ("B", Component::Costs, 20),
                ("A", Component::Fees, 50),
                ("B", Component::Interest, 30),
                ("A", Component::Principal, 50),
            ]
        );
        assert!(a.credit.is_zero());
    }

    #[test]
    fn overpayment_becomes_credit() {
        let accounts = [owed("A", [0, 0, 0, 100])];
        let a = allocate(
            Money::from_minor(130, usd()),
            &accounts,
            &AllocationOrder::default(),
        )
        .unwrap();
        assert_eq!(a.credit.minor(), 30);
        assert!(apply(&accounts, &a)[0].total().is_zero());
    }

    #[test]
    fn bad_payments_and_orders_are_refused() {
        let accounts = [owed("A", [0, 0, 0, 100])];
        let order = AllocationOrder::default();
        assert!(matches!(
            allocate(Money::zero(usd()), &accounts, &order),
            Err(AllocationError::Money(MoneyError::NotPositive(_)))
        ));
        let eur = Money::from_minor(5, Currency::from_code("EUR").unwrap());
        assert!(matches!(
            allocate(eur, &accounts, &order),
            Err(AllocationError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
        assert!(AllocationOrder::new(&[Component::Fees, Component::Fees]).is_err());
        assert!(AllocationOrder::new(&[Component::Fees]).is_err());
        let principal_first = AllocationOrder::new(&[
            Component::Principal,
            Component::Interest,
            Component::Fees,
            Component::Costs,
        ])
        .unwrap();
        let a = allocate(Money::from_minor(10, usd()), &accounts, &principal_first).unwrap();
        assert_eq!(a.parts[0].component, Component::Principal);
    }

    fn arb_accounts() -> impl Strategy<Value = Vec<Owed<String>>> {
        prop::collection::vec(prop::array::uniform4(0i64..100_000), 1..5).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, m)| owed(&format!("A{i}"), m))
                .collect()
        })
    }

    fn arb_order() -> impl Strategy<Value = AllocationOrder> {
        Just(Component::ALL.to_vec())
            .prop_shuffle()
            .prop_map(|v| AllocationOrder::new(&v).unwrap())
    }

    proptest! {
        /// Money is conserved: the parts and the credit add up to the payment, and the
        /// balances fall by exactly the parts.
        #[test]
        fn money_is_conserved(accounts in arb_accounts(), order in arb_order(), pay in 1i64..1_000_000) {
            let a = allocate(Money::from_minor(pay, usd()), &accounts, &order).unwrap();
            let parts: i64 = a.parts.iter().map(|p| p.amount.minor()).sum();
            prop_assert_eq!(parts + a.credit.minor(), pay);
            let before: i64 = accounts.iter().map(|x| x.total().minor()).sum();
            let after: i64 = apply(&accounts, &a).iter().map(|x| x.total().minor()).sum();
            prop_assert_eq!(before - after, parts);
            prop_assert!(apply(&accounts, &a).iter().all(|x| x.minor.iter().all(|m| *m >= 0)));
            // A credit only when nothing is owed any more.
            prop_assert!(a.credit.is_zero() || after == 0);
        }

        /// The order holds: a component is paid on any account only after every earlier
        /// component is paid off on every account.
        #[test]
        fn the_order_holds(accounts in arb_accounts(), order in arb_order(), pay in 1i64..1_000_000) {
            let a = allocate(Money::from_minor(pay, usd()), &accounts, &order).unwrap();
            let after = apply(&accounts, &a);
            let rank = |c: Component| order.components().iter().position(|x| *x == c).unwrap();
            for part in &a.parts {
                for earlier in order.components().into_iter().filter(|c| rank(*c) < rank(part.component)) {
                    prop_assert!(after.iter().all(|x| x.get(earlier).is_zero()));
                }
            }
        }

        /// A reversal reopens exactly what the payment closed.
        #[test]
        fn reversal_restores_the_balances(accounts in arb_accounts(), order in arb_order(), pay in 1i64..1_000_000) {
            let a = allocate(Money::from_minor(pay, usd()), &accounts, &order).unwrap();
            let undone = apply(&apply(&accounts, &a), &a.reversed());
            prop_assert_eq!(undone, accounts);
        }
    }
}
