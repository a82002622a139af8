"""Categories of personal information, as Cal. Civ. Code 1798.83(e)(6) lists them.

The third-party registry, the disclosure ledger and the California notice all speak in
these categories, so a notice can be computed rather than written.
"""

from django.db import models


class PersonalInfoCategory(models.TextChoices):
    NAME_AND_ADDRESS = "name_address", "Name and address"
    EMAIL = "email", "Email address"
    AGE = "age", "Age or date of birth"
    CHILDREN_NAMES = "children_names", "Names of children"
    CHILDREN_ADDRESSES = "children_addresses", "Email or other addresses of children"
    CHILDREN_NUMBER = "children_number", "Number of children"
    CHILDREN_AGE_GENDER = "children_age_gender", "Age or gender of children"
    HEIGHT = "height", "Height"
    WEIGHT = "weight", "Weight"
    RACE = "race", "Race"
    RELIGION = "religion", "Religion"
    OCCUPATION = "occupation", "Occupation"
    TELEPHONE = "telephone", "Telephone number"
    EDUCATION = "education", "Education"
    POLITICAL_PARTY = "political_party", "Political party affiliation"
    MEDICAL_CONDITION = "medical_condition", "Medical condition"
    MEDICAL_PRODUCTS = "medical_products", "Drugs, therapies, or medical products or equipment used"
    PRODUCT_PURCHASED = "product_purchased", "Kind of product purchased, leased, or rented"
    REAL_PROPERTY = "real_property", "Real property purchased, leased, or rented"
    SERVICE_PROVIDED = "service_provided", "Kind of service provided"
    SSN = "ssn", "Social security number"
    BANK_ACCOUNT = "bank_account", "Bank account number"
    CREDIT_CARD = "credit_card", "Credit card number"
    DEBIT_CARD = "debit_card", "Debit card number"
    ACCOUNT_BALANCE = (
        "account_balance",
        ("Bank or investment account, debit card, or credit card balance"),
    )
    PAYMENT_HISTORY = "payment_history", "Payment history"
    CREDITWORTHINESS = (
        "creditworthiness",
        ("Information about creditworthiness, assets, income, or liabilities"),
    )
